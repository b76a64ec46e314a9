import Foundation
import GitOpsMLCore

/// Two-sample tests and distances between a reference (base) and a current (head) column, with the
/// definitions of scipy and Evidently.
public enum DriftStatistics {
    // MARK: Kolmogorov–Smirnov

    public struct KSResult: Sendable, Equatable {
        public var statistic: Double
        public var pValue: Double
        /// "exact" for samples up to 10,000 (scipy's choice), else "asymptotic".
        public var method: String
    }

    /// scipy's `ks_2samp(reference, current)` (two-sided, method auto): the exact distribution of the
    /// statistic when both samples have at most 10,000 values (Hodges' lattice paths with Viehmann's
    /// recursion), else the limiting Kolmogorov distribution with Stephens' correction. (scipy uses the
    /// one-sample distribution `kstwo` for n = round(n₁n₂/(n₁+n₂)) there; the two agree to about 1 %.)
    public static func kolmogorovSmirnov(_ reference: [Double], _ current: [Double]) -> KSResult {
        let a = RadixSort.sorted(reference)
        let b = RadixSort.sorted(current)
        let n1 = a.count
        let n2 = b.count
        guard n1 > 0, n2 > 0 else { return KSResult(statistic: 0, pValue: 1, method: "exact") }
        // The largest gap between the two empirical CDFs, evaluated after each distinct value.
        var i = 0
        var j = 0
        var d = 0.0
        while i < n1 || j < n2 {
            let value = min(i < n1 ? a[i] : .infinity, j < n2 ? b[j] : .infinity)
            while i < n1 && a[i] == value { i += 1 }
            while j < n2 && b[j] == value { j += 1 }
            d = max(d, abs(Double(i) / Double(n1) - Double(j) / Double(n2)))
        }
        if max(n1, n2) <= 10_000, let exact = exactKSPValue(n1, n2, d) {
            return KSResult(statistic: d, pValue: exact, method: "exact")
        }
        let en = Double(n1) * Double(n2) / Double(n1 + n2)
        let lambda = (en.squareRoot() + 0.12 + 0.11 / en.squareRoot()) * d
        return KSResult(statistic: d, pValue: kolmogorovSF(lambda), method: "asymptotic")
    }

    /// P(D ≥ d) under the null, exactly; nil when the recursion is numerically unusable.
    static func exactKSPValue(_ n1: Int, _ n2: Int, _ d: Double) -> Double? {
        let g = gcd(n1, n2)
        let lcm = (n1 / g) * n2
        let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
        if h == 0 { return 1 }
        let p = n1 == n2 ? probabilityOutsideSquare(n1, h) : outerProbabilityInside(n1, n2, g, h)
        guard p.isFinite, (0...1.0000001).contains(p) else { return nil }
        return min(max(p, 0), 1)
    }

    static func probabilityOutsideSquare(_ n: Int, _ h: Int) -> Double {
        var p = 0.0
        var k = n / h
        while k >= 0 {
            var p1 = 1.0
            for j in 0..<h { p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1) }
            p = p1 * (1 - p)
            k -= 1
        }
        return 2 * p
    }

    /// The share of lattice paths from (0, 0) to (m, n) that leave |nx/g − my/g| < h, computed directly as
    /// 1 − p (Viehmann 2021) over a sliding window of one column.
    static func outerProbabilityInside(_ first: Int, _ second: Int, _ g: Int, _ h: Int) -> Double {
        let m = max(first, second)
        let n = min(first, second)
        let mg = m / g
        let ng = n / g
        var minj = 0
        var maxj = min(Int((Double(h) / Double(mg)).rounded(.up)), n + 1)
        var curlen = maxj - minj
        let lenA = min(2 * maxj + 2, n + 1)
        var a = [Double](repeating: 1, count: max(lenA, 1))
        for index in minj..<maxj where index < a.count { a[index] = 0 }
        for i in 1...m {
            let lastminj = minj
            let lastlen = curlen
            minj = max(Int((Double(ng * i - h) / Double(mg)).rounded(.down)) + 1, 0)
            minj = min(minj, n)
            maxj = min(Int((Double(ng * i + h) / Double(mg)).rounded(.up)), n + 1)
            if maxj <= minj { return 1 }
            var value = minj == 0 ? 0.0 : 1.0
            for jj in 0..<(maxj - minj) {
                let j = jj + minj
                value = (a[jj + minj - lastminj] * Double(i) + value * Double(j)) / Double(i + j)
                a[jj] = value
            }
            curlen = maxj - minj
            if lastlen > curlen {
                for index in (maxj - minj)..<min(maxj - minj + (lastlen - curlen), a.count) { a[index] = 1 }
            }
        }
        return a[maxj - minj - 1]
    }

    /// The limiting Kolmogorov distribution's upper tail, Q(λ) = 2 Σ (−1)^(k−1) exp(−2k²λ²).
    static func kolmogorovSF(_ lambda: Double) -> Double {
        guard lambda > 0.2 else { return 1 }
        var sum = 0.0
        for k in 1...100 {
            let term = exp(-2 * Double(k * k) * lambda * lambda)
            sum += (k % 2 == 1 ? 1 : -1) * term
            if term < 1e-18 { break }
        }
        return min(max(2 * sum, 0), 1)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    // MARK: Distances

    /// scipy's `wasserstein_distance(u, v)`: ∫ |F_u − F_v| over the real line.
    public static func wasserstein(_ u: [Double], _ v: [Double]) -> Double {
        let a = RadixSort.sorted(u)
        let b = RadixSort.sorted(v)
        guard !a.isEmpty, !b.isEmpty else { return .nan }
        // Walk the merged sorted values: between consecutive values the two CDFs are constant.
        var i = 0
        var j = 0
        var total = 0.0
        var x = min(a[0], b[0])
        while i < a.count || j < b.count {
            while i < a.count && a[i] <= x { i += 1 }
            while j < b.count && b[j] <= x { j += 1 }
            let next = min(i < a.count ? a[i] : .infinity, j < b.count ? b[j] : .infinity)
            guard next.isFinite else { break }
            total += abs(Double(i) / Double(a.count) - Double(j) / Double(b.count)) * (next - x)
            x = next
        }
        return total
    }

    /// Evidently's normed Wasserstein distance: the distance divided by the reference's standard deviation.
    public static func normedWasserstein(_ reference: [Double], _ current: [Double]) -> Double {
        let deviation = standardDeviation(reference, ddof: 0)
        return wasserstein(reference, current) / deviation
    }

    public static func standardDeviation(_ values: [Double], ddof: Int) -> Double {
        guard values.count > ddof else { return .nan }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - ddof)).squareRoot()
    }

    /// The share of each sample in each of the bins; numeric columns use 10 bins at the reference's
    /// deciles (outer bins open-ended), categorical ones the union of the categories. Empty bins get
    /// 0.0001, as Evidently does, so that logarithms stay finite.
    public static func binnedShares(
        reference: DriftColumn, current: DriftColumn, bins: Int = 10, emptyShare: Double? = 0.0001
    ) -> (reference: [Double], current: [Double]) {
        var shares: ([Double], [Double])
        switch (reference, current) {
        case (.numeric(let r), .numeric(let c)):
            let sorted = RadixSort.sorted(r)
            var edges: [Double] = []
            for k in 1..<bins { edges.append(quantile(sorted, Double(k) / Double(bins))) }
            edges = Array(Set(edges)).sorted()
            func histogram(_ values: [Double]) -> [Double] {
                var counts = [Double](repeating: 0, count: edges.count + 1)
                for value in values {
                    // The first edge ≥ value: bins are (e[k−1], e[k]], the last one open.
                    var low = 0
                    var high = edges.count
                    while low < high {
                        let mid = (low + high) / 2
                        if edges[mid] < value { low = mid + 1 } else { high = mid }
                    }
                    counts[low] += 1
                }
                return counts.map { $0 / Double(values.count) }
            }
            shares = (histogram(r), histogram(c))
        default:
            let r = reference.categories
            let c = current.categories
            let keys = CategoryCounts.keys(r, c)
            shares = (keys.map { Double(r[$0]) / Double(r.total) }, keys.map { Double(c[$0]) / Double(c.total) })
        }
        if let emptyShare {
            shares.0 = shares.0.map { $0 == 0 ? emptyShare : $0 }
            shares.1 = shares.1.map { $0 == 0 ? emptyShare : $0 }
        }
        return shares
    }

    /// Population stability index: Σ (r − c) ln(r / c) over the bins.
    public static func psi(reference: [Double], current: [Double]) -> Double {
        zip(reference, current).reduce(0) { $0 + ($1.0 - $1.1) * log($1.0 / $1.1) }
    }

    /// scipy's `jensenshannon(p, q)` (natural logarithm): the square root of the JS divergence.
    public static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        let sp = p.reduce(0, +)
        let sq = q.reduce(0, +)
        var divergence = 0.0
        for (x, y) in zip(p, q) {
            let a = x / sp
            let b = y / sq
            let m = (a + b) / 2
            if a > 0 { divergence += a * log(a / m) }
            if b > 0 { divergence += b * log(b / m) }
        }
        return (max(divergence, 0) / 2).squareRoot()
    }

    // MARK: Categorical tests

    /// Evidently's chi-square test: the current counts against the reference's shares scaled to the current
    /// size (scipy `chisquare`), k − 1 degrees of freedom over the categories of both.
    public static func chiSquareGoodnessOfFit(reference: [String], current: [String]) -> (
        statistic: Double, pValue: Double
    ) {
        chiSquareGoodnessOfFit(reference: CategoryCounts(reference), current: CategoryCounts(current))
    }

    public static func chiSquareGoodnessOfFit(reference r: CategoryCounts, current c: CategoryCounts) -> (
        statistic: Double, pValue: Double
    ) {
        let keys = CategoryCounts.keys(r, c)
        let scale = Double(c.total) / Double(r.total)
        var statistic = 0.0
        for key in keys {
            let expected = Double(r[key]) * scale
            let observed = Double(c[key])
            statistic +=
                expected > 0 ? (observed - expected) * (observed - expected) / expected : (observed > 0 ? .infinity : 0)
        }
        let dof = Double(max(keys.count - 1, 1))
        return (statistic, statistic.isInfinite ? 0 : SpecialFunctions.chiSquareSF(statistic, dof: dof))
    }

    /// scipy's `chi2_contingency` on the 2 × k table of counts (Yates' correction only for 1 degree of freedom).
    public static func chiSquareContingency(reference: [String], current: [String]) -> (
        statistic: Double, pValue: Double, dof: Int
    ) {
        let keys = Array(Set(reference).union(current)).sorted()
        var r: [String: Int] = [:]
        var c: [String: Int] = [:]
        for value in reference { r[value, default: 0] += 1 }
        for value in current { c[value, default: 0] += 1 }
        let rows = [keys.map { Double(r[$0] ?? 0) }, keys.map { Double(c[$0] ?? 0) }]
        let total = Double(reference.count + current.count)
        let dof = keys.count - 1
        guard dof > 0 else { return (0, 1, 0) }
        var statistic = 0.0
        for (rowIndex, row) in rows.enumerated() {
            let rowTotal = Double(rowIndex == 0 ? reference.count : current.count)
            for (column, observed) in row.enumerated() {
                let expected = rowTotal * (rows[0][column] + rows[1][column]) / total
                var difference = abs(observed - expected)
                if dof == 1 { difference = max(difference - 0.5, 0) }
                statistic += difference * difference / expected
            }
        }
        return (statistic, SpecialFunctions.chiSquareSF(statistic, dof: Double(dof)), dof)
    }

    /// Evidently's Z-test for a binary column: the difference of two proportions, pooled.
    public static func proportionsZTest(reference: [String], current: [String]) -> (statistic: Double, pValue: Double) {
        proportionsZTest(reference: CategoryCounts(reference), current: CategoryCounts(current))
    }

    public static func proportionsZTest(reference: CategoryCounts, current: CategoryCounts) -> (
        statistic: Double, pValue: Double
    ) {
        let keys = CategoryCounts.keys(reference, current)
        guard keys.count == 2 else { return (0, 1) }
        let p1 = Double(reference[keys[0]]) / Double(reference.total)
        let p2 = Double(current[keys[0]]) / Double(current.total)
        let n1 = Double(reference.total)
        let n2 = Double(current.total)
        let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        let z = (p1 - p2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
        return (z, 2 * (1 - 0.5 * erfc(-abs(z) / 2.squareRoot())))
    }

    /// numpy's default (linear) quantile of sorted values.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }

    /// The same quantiles as `quantile(sorted(values), q)` with nulls (NaN) left out, without sorting or
    /// copying the values: a histogram of their order-preserving keys, over the keys' own range, finds
    /// the bucket holding each wanted rank, and only that bucket's values are collected and the rank
    /// selected among them. A few passes over the column and a small scratch, not a copy of it.
    public static func quantiles(of values: [Double], _ qs: [Double]) -> [Double] {
        values.withUnsafeBufferPointer { buffer -> [Double] in
            var (count, low, high) = (0, UInt64.max, UInt64.min)
            for value in buffer where !value.isNaN {
                let key = RadixSort.key(value)
                (count, low, high) = (count + 1, min(low, key), max(high, key))
            }
            guard count > 0 else { return qs.map { _ in .nan } }
            let shift = UInt64(max(0, UInt64.bitWidth - (high - low).leadingZeroBitCount - 16))
            @inline(__always) func bucket(_ value: Double) -> Int { Int((RadixSort.key(value) - low) >> shift) }
            var histogram = [Int](repeating: 0, count: 1 << 16)
            for value in buffer where !value.isNaN { histogram[bucket(value)] += 1 }
            // Each bucket's values, collected when a rank falls in it (then partly ordered by selection).
            var collected: [Int: [Double]] = [:]
            func rank(_ wanted: Int) -> Double {
                var (first, index) = (0, 0)
                while first + histogram[index] <= wanted {
                    first += histogram[index]
                    index += 1
                }
                if collected[index] == nil {
                    var members: [Double] = []
                    members.reserveCapacity(histogram[index])
                    for value in buffer where !value.isNaN && bucket(value) == index { members.append(value) }
                    collected[index] = members
                }
                return collected[index, default: []].withUnsafeMutableBufferPointer { select($0, wanted - first) }
            }
            return qs.map { q in
                let position = q * Double(count - 1)
                let lowRank = Int(position.rounded(.down))
                let lowValue = rank(lowRank)
                guard lowRank + 1 < count, position > Double(lowRank) else { return lowValue }
                return lowValue + (rank(lowRank + 1) - lowValue) * (position - Double(lowRank))
            }
        }
    }

    /// The k-th smallest element (Hoare's selection with a median-of-three pivot), partially ordering
    /// the buffer around it.
    static func select(_ buffer: UnsafeMutableBufferPointer<Double>, _ k: Int) -> Double {
        var low = 0
        var high = buffer.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            // Median of three as the pivot.
            let a = buffer[low], b = buffer[middle], c = buffer[high]
            let pivot = max(min(a, b), min(max(a, b), c))
            var i = low
            var j = high
            while i <= j {
                while buffer[i] < pivot { i += 1 }
                while buffer[j] > pivot { j -= 1 }
                if i <= j {
                    buffer.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { high = j } else if k >= i { low = i } else { return buffer[k] }
        }
        return buffer[k]
    }

    /// Benjamini–Hochberg adjusted p-values (the step-up false discovery rate), in the input order.
    public static func benjaminiHochberg(_ pValues: [Double]) -> [Double] {
        let n = pValues.count
        let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
        var adjusted = [Double](repeating: 1, count: n)
        var running = 1.0
        for rank in stride(from: n, through: 1, by: -1) {
            let index = order[rank - 1]
            running = min(running, pValues[index] * Double(n) / Double(rank))
            adjusted[index] = min(running, 1)
        }
        return adjusted
    }
}

/// A column's values for drift: numbers (nulls dropped) or categories.
public enum DriftColumn: Sendable {
    case numeric([Double])
    case categorical(CategoryCounts)

    public var count: Int {
        switch self {
        case .numeric(let values): return values.count
        case .categorical(let counts): return counts.total
        }
    }

    var categories: CategoryCounts {
        switch self {
        case .numeric(let values): return CategoryCounts(values.map { StructuredValue.pythonFloat($0) })
        case .categorical(let counts): return counts
        }
    }
}

/// How many times each category occurs, and how many values there are.
public struct CategoryCounts: Sendable, Equatable {
    public var counts: [String: Int]
    public var total: Int

    public init(_ values: [String]) {
        var counts: [String: Int] = [:]
        for value in values { counts[value, default: 0] += 1 }
        self.init(counts: counts)
    }

    public init(counts: [String: Int]) {
        self.counts = counts
        total = counts.values.reduce(0, +)
    }

    subscript(key: String) -> Int { counts[key] ?? 0 }

    /// The categories of both, sorted.
    static func keys(_ a: CategoryCounts, _ b: CategoryCounts) -> [String] {
        Array(Set(a.counts.keys).union(b.counts.keys)).sorted()
    }
}
