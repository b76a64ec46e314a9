import Config
import Foundation
import GitOpsMLCore
import Statistics

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
    /// recursion), else scipy's asymptotic method: the one-sample distribution `kstwo` at
    /// n = round(n₁n₂/(n₁+n₂)) (`KolmogorovDistribution`).
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
        // scipy's method="asymp": the one-sample distribution at n = round(n₁n₂/(n₁ + n₂)) (half to even).
        let en = (Double(max(n1, n2)) * Double(min(n1, n2)) / Double(n1 + n2)).rounded(.toNearestOrEven)
        return KSResult(
            statistic: d, pValue: KolmogorovDistribution.sf(max(Int(en), 1), d), method: "asymptotic")
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

    /// Evidently's normed Wasserstein distance: the distance divided by the reference's standard deviation,
    /// or by 0.001 when that is smaller (a constant reference gives a finite distance, as in Evidently).
    public static func normedWasserstein(_ reference: [Double], _ current: [Double]) -> Double {
        wasserstein(reference, current) / max(standardDeviation(reference, ddof: 0), 0.001)
    }

    public static func standardDeviation(_ values: [Double], ddof: Int) -> Double {
        guard values.count > ddof else { return .nan }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - ddof)).squareRoot()
    }

    /// Evidently's `get_binned_data`, which PSI and Jensen–Shannon share: a numeric column whose reference
    /// has more than 20 distinct values is cut into numpy's Sturges bins over both samples together
    /// (`np.histogram_bin_edges(combined, "sturges")`, equal widths from the minimum to the maximum, the
    /// last bin closed); anything else is counted by value. Shares are of each sample's size. For PSI an
    /// empty bin gets min(non-zero share)/10⁶ when that minimum is at most 0.0001, else 0.0001.
    public static func evidentlyBins(
        reference: DriftColumn, current: DriftColumn, floorEmpty: Bool, integerValued: Bool = false
    ) -> (reference: [Double], current: [Double], description: String) {
        var shares: ([Double], [Double])
        let description: String
        if case .numeric(let r) = reference, case .numeric(let c) = current, distinctCount(sortedValues: r) > 20 {
            let edges = sturgesEdges(r, c, integerValued: integerValued)
            shares = (histogram(r, edges), histogram(c, edges))
            description = "\(edges.count - 1) Sturges bins of equal width over both samples"
        } else {
            let rc = reference.categories
            let cc = current.categories
            let keys = CategoryCounts.keys(rc, cc)
            shares = (keys.map { Double(rc[$0]) / Double(rc.total) }, keys.map { Double(cc[$0]) / Double(cc.total) })
            description = "\(keys.count) values counted"
        }
        guard floorEmpty else { return (shares.0, shares.1, description) }
        func floored(_ values: [Double]) -> [Double] {
            let smallest = values.filter { $0 != 0 }.min() ?? 0.0001
            let floor = smallest <= 0.0001 ? smallest / 1_000_000 : 0.0001
            return values.map { $0 == 0 ? floor : $0 }
        }
        return (floored(shares.0), floored(shares.1), description + "; empty bins floored as Evidently does")
    }

    static func distinctCount(sortedValues values: [Double]) -> Int {
        var count = 0
        var previous: Double?
        for value in values where value != previous {
            count += 1
            previous = value
        }
        return count
    }

    /// numpy's Sturges edges of the two sorted samples together: width = range/(log₂ n + 1) (at least 1 for
    /// integer data), ⌈range/width⌉ bins, edges `start + i·step` with the last one the maximum
    /// (`np.linspace`).
    static func sturgesEdges(_ a: [Double], _ b: [Double], integerValued: Bool) -> [Double] {
        let low = min(a.first ?? .infinity, b.first ?? .infinity)
        let high = max(a.last ?? -.infinity, b.last ?? -.infinity)
        let (first, last) = low == high ? (low - 0.5, high + 0.5) : (low, high)
        var width = (high - low) / (log2(Double(a.count + b.count)) + 1)
        if integerValued && width < 1 { width = 1 }
        let bins = width > 0 ? Int(((last - first) / width).rounded(.up)) : 1
        let step = (last - first) / Double(bins)
        return (0...bins).map { $0 == bins ? last : Double($0) * step + first }
    }

    /// Shares of sorted `values` in the bins [e₀, e₁), …, [e₍k−1₎, e_k] (numpy's histogram with explicit edges).
    static func histogram(_ values: [Double], _ edges: [Double]) -> [Double] {
        func countBelow(_ edge: Double, inclusive: Bool) -> Int {
            var low = 0
            var high = values.count
            while low < high {
                let middle = (low + high) / 2
                if values[middle] < edge || (inclusive && values[middle] == edge) {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            return low
        }
        var cumulative = edges.dropLast().map { countBelow($0, inclusive: false) }
        cumulative.append(countBelow(edges[edges.count - 1], inclusive: true))
        return (1..<cumulative.count).map { Double(cumulative[$0] - cumulative[$0 - 1]) / Double(values.count) }
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

    /// Evidently's Z-test: the share of the first category (in sorted order: numeric values by value, text
    /// as text) against all others, a pooled two-proportion z; p = 1 when both samples hold the one same
    /// value. The p-value is 2·P(Z > |z|) computed without cancellation (Evidently's 2·(1 − Φ(|z|)) rounds
    /// to 0 beyond |z| ≈ 8.3; the verdicts are the same).
    public static func proportionsZTest(reference: [String], current: [String]) -> (
        statistic: Double, pValue: Double, category: String?
    ) {
        proportionsZTest(reference: CategoryCounts(reference), current: CategoryCounts(current))
    }

    public static func proportionsZTest(reference: CategoryCounts, current: CategoryCounts) -> (
        statistic: Double, pValue: Double, category: String?
    ) {
        let keys = CategoryCounts.keys(reference, current)
        guard let first = keys.first, reference.total > 0, current.total > 0 else { return (0, 1, nil) }
        if keys.count == 1 { return (0, 1, first) }
        let n1 = Double(reference.total)
        let n2 = Double(current.total)
        // Evidently codes the first category 0 and every other value 1, and compares the shares of 1.
        let p1 = 1 - Double(reference[first]) / n1
        let p2 = 1 - Double(current[first]) / n2
        let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        let z = (p1 - p2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
        return (z, min(1, erfc(abs(z) / 2.squareRoot())), first)
    }

    /// numpy's default (linear) quantile of sorted values.
    public static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, sorted.count - 1)
        return lerp(sorted[low], sorted[high], position - Double(low))
    }

    /// numpy's `_lerp`: from the nearer end, so that the last bit is numpy's (and an end is met exactly).
    @inline(__always) static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t
    }

    /// The same quantiles as `quantile(sorted(values), q)` with nulls (NaN) left out, without sorting or
    /// copying the values: a histogram of their order-preserving keys, over the keys' own range, finds
    /// the bucket holding each wanted rank, and only that bucket's values are collected and the rank
    /// selected among them. A few passes over the column and a small scratch, not a copy of it.
    /// `interpolation` as pandas' (numpy's methods of the same names; `nearest` rounds half to even).
    public static func quantiles(
        of values: [Double], _ qs: [Double], interpolation: DataPolicy.QuantileInterpolation = .linear
    ) -> [Double] {
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
            // numpy's arithmetic to the letter (as pandas calls it, with a list of levels): the two
            // neighbours are interpolated even at a whole position (both the last one at the top), so an
            // infinite neighbour gives NaN as it does there; finite values are unchanged by it.
            return qs.map { q in
                let position = q * Double(count - 1)
                let lowRank = min(Int(position.rounded(.down)), count - 1)
                let highRank = min(lowRank + 1, count - 1)
                switch interpolation {
                case .nearest: return rank(Int(position.rounded(.toNearestOrEven)))
                case .lower: return rank(lowRank)
                case .higher: return rank(min(Int(position.rounded(.up)), count - 1))
                case .midpoint: return lerp(rank(lowRank), rank(highRank), Double(lowRank) < position ? 0.5 : 0)
                case .linear: return lerp(rank(lowRank), rank(highRank), position - Double(lowRank))
                }
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

    /// The categories of both, sorted as Python sorts them: by value when every one is a number, else
    /// as text.
    static func keys(_ a: CategoryCounts, _ b: CategoryCounts) -> [String] {
        let keys = Set(a.counts.keys).union(b.counts.keys)
        let numbers = keys.map { Double($0) }
        if numbers.allSatisfy({ $0 != nil }) { return zip(keys, numbers).sorted { ($0.1 ?? 0) < ($1.1 ?? 0) }.map(\.0) }
        return keys.sorted {
            Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value))
        }
    }
}
