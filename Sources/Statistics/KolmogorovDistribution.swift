import Foundation

/// The survival function of the two-sided one-sample Kolmogorov–Smirnov statistic Dₙ, P(Dₙ ≥ x), as
/// scipy's `kstwo.sf(x, n)` computes it (`scipy/stats/_ksstats.py`, after Simard & L'Ecuyer 2011):
/// Ruben–Gambino's exact ends, twice the one-sided Smirnov tail (Birnbaum–Tingey) far out, the Durbin
/// matrix (Marsaglia–Tsang–Wang) near the centre, and the Pelz–Good series for large n. `ks_2samp`'s
/// asymptotic method evaluates it at n = round(n₁n₂/(n₁ + n₂)).
///
/// Where scipy switches to Pomeranz's recursion (n ≤ 140, 0.754693 < nx² ≤ 4) this uses the Durbin
/// matrix too: both are exact, and agree to rounding.
public enum KolmogorovDistribution {
    public static func sf(_ n: Int, _ x: Double) -> Double {
        guard n > 0 else { return .nan }
        if x >= 1 { return 0 }
        if x <= 0 { return 1 }
        let size = Double(n)
        let t = size * x
        if t <= 1 {
            if t <= 0.5 { return 1 }
            // Ruben–Gambino: P(Dₙ ≤ x) = n!/nⁿ (2t − 1)ⁿ for 1/2n ≤ x ≤ 1/n.
            var logCDF = Double(n) * log(2 * t - 1)
            for i in 1...n { logCDF += log(Double(i) / size) }
            return clip(1 - exp(logCDF))
        }
        if t >= size - 1 { return clip(2 * pow(1 - x, size)) }
        if x >= 0.5 { return clip(2 * smirnovSF(n, x)) }
        let nxSquared = t * x
        if n <= 140 {
            if nxSquared <= 4 { return clip(1 - durbinCDF(n, x)) }
            return clip(2 * smirnovSF(n, x))
        }
        if nxSquared >= 370 { return 0 }
        if nxSquared >= 2.2 { return clip(2 * smirnovSF(n, x)) }
        let cdf: Double
        if nxSquared >= 18 {
            cdf = 1
        } else if n <= 100_000 && size * pow(x, 1.5) <= 1.4 {
            cdf = durbinCDF(n, x)
        } else {
            cdf = pelzGoodCDF(n, x)
        }
        return clip(1 - cdf)
    }

    static func clip(_ p: Double) -> Double { min(max(p, 0), 1) }

    /// The one-sided Smirnov tail P(Dₙ⁺ ≥ x) = x Σ_{v=0}^{⌊n(1−x)⌋} C(n, v)(x + v/n)^(v−1)(1 − x − v/n)^(n−v)
    /// (Birnbaum & Tingey 1951): positive terms, summed from their logarithms.
    static func smirnovSF(_ n: Int, _ x: Double) -> Double {
        let size = Double(n)
        if -2 * size * x * x < -708.396_418_532_264 { return 0 }
        let nx = size * x
        let floorNX = nx.rounded(.down)
        let exactMultiple = floorNX == nx
        if Int(floorNX) >= n - 1 { return pow(1 - x, size) }
        if n > 1_000_000 {
            return exp(-pow(6 * nx + 1, 2) / 18 / size)  // cephes' approximation beyond a million
        }
        // ⌊n(1 − x)⌋, without the term at 1 − x − v/n = 0 when nx is whole.
        var last = n - Int(floorNX) - (exactMultiple ? 0 : 1)
        if exactMultiple { last -= 1 }
        var logBinomial = 0.0
        var sum = 0.0
        var previous = Double.infinity
        for v in 0...max(last, 0) {
            let value = Double(v)
            let term = exp(
                logBinomial + (value - 1) * log(x + value / size) + (size - value) * log1p(-x - value / size))
            sum += term
            // The terms rise, then fall: stop once they are falling and no longer matter.
            if term < previous && term < sum * 1e-18 { break }
            previous = term
            logBinomial += log((size - value) / (value + 1))
        }
        return clip(x * sum)
    }

    /// P(Dₙ < x) by the Durbin matrix: the k-th diagonal element of Hⁿ times n!/nⁿ, with k = ⌈nx⌉, H of
    /// order 2k − 1, powers scaled by 2¹²⁸ to stay in range (Marsaglia, Tsang & Wang 2003).
    static func durbinCDF(_ n: Int, _ d: Double) -> Double {
        if d >= 1 { return 1 }
        let nd = Double(n) * d
        if nd <= 0.5 { return 0 }
        let k = Int(nd.rounded(.up))
        let h = Double(k) - nd
        let m = 2 * k - 1
        var v = (1...m).map { 1 - pow(h, Double($0)) }
        var w = [Double](repeating: 0, count: m)
        var factorial = 1.0
        for j in 1...m {
            w[j - 1] = factorial
            factorial /= Double(j)
            v[j - 1] *= factorial
        }
        let tt = pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
        v[m - 1] = (1 + tt) * factorial
        var matrix = [Double](repeating: 0, count: m * m)
        for i in 1..<m {
            for row in (i - 1)..<m { matrix[row * m + i] = w[row - (i - 1)] }
        }
        for row in 0..<m { matrix[row * m] = v[row] }
        for column in 0..<m { matrix[(m - 1) * m + column] = v[m - 1 - column] }

        func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
            var result = [Double](repeating: 0, count: m * m)
            for i in 0..<m {
                for l in 0..<m {
                    let factor = a[i * m + l]
                    if factor == 0 { continue }
                    for j in 0..<m { result[i * m + j] += factor * b[l * m + j] }
                }
            }
            return result
        }
        let scale = 0x1p128
        var power = [Double](repeating: 0, count: m * m)
        for i in 0..<m { power[i * m + i] = 1 }
        var remaining = n
        var exponent = 0
        var matrixExponent = 0
        while remaining > 0 {
            if remaining % 2 == 1 {
                power = multiply(power, matrix)
                exponent += matrixExponent
            }
            matrix = multiply(matrix, matrix)
            matrixExponent *= 2
            if abs(matrix[(k - 1) * m + (k - 1)]) > scale {
                matrix = matrix.map { $0 / scale }
                matrixExponent += 128
            }
            remaining /= 2
        }
        var p = power[(k - 1) * m + (k - 1)]
        for i in 1...n {
            p = Double(i) * p / Double(n)
            if abs(p) < 0x1p-128 {
                p *= scale
                exponent -= 128
            }
        }
        return clip(exponent != 0 ? scalbn(p, exponent) : p)
    }

    /// The Pelz–Good (1976) approximation to P(Dₙ ≤ x): K₀ + K₁/√n + K₂/n + K₃/n^1.5 in Jacobi theta form.
    static func pelzGoodCDF(_ n: Int, _ x: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let z = Double(n).squareRoot() * x
        let z2 = z * z
        let z3 = z2 * z
        let z4 = z2 * z2
        let z6 = z4 * z2
        let pi2 = Double.pi * Double.pi
        let pi4 = pi2 * pi2
        let pi6 = pi4 * pi2
        let qlog = -pi2 / 8 / z2
        if qlog < -708 { return 0 }
        var q = exp(qlog)
        let k1a = -z2
        let k1b = pi2 / 4
        let k2a = 6 * z6 + 2 * z4
        let k2b = (2 * z4 - 5 * z2) * pi2 / 4
        let k2c = pi4 * (1 - 2 * z2) / 16
        let k3d = pi6 * (5 - 30 * z2) / 64
        let k3c = pi4 * (-60 * z2 + 212 * z4) / 16
        let k3b = pi2 * (135 * z4 - 96 * z6) / 4
        let k3a = -30 * z6 - 90 * pow(z, 8)
        var terms = [0.0, 0.0, 0.0, 0.0]
        let maxK = Int((16 * z / Double.pi).rounded(.up))
        for k in stride(from: maxK, to: 0, by: -1) {
            let m = Double(2 * k - 1)
            let m2 = m * m
            let m4 = m2 * m2
            let m6 = m4 * m2
            let qPower = pow(q, Double(8 * k))
            let coefficients = [
                1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6,
            ]
            for i in 0..<4 { terms[i] = terms[i] * qPower + coefficients[i] }
        }
        let sqrt2pi = (2 * Double.pi).squareRoot()
        let divisors = [z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)]
        for i in 0..<4 { terms[i] = terms[i] * q * sqrt2pi / divisors[i] }
        q = exp(-pi2 / 2 / z2)
        var k2extra = 0.0
        var k3extra = 0.0
        let sqrt3z = 3.0.squareRoot() * z
        for k in stride(from: maxK, to: 0, by: -1) {
            let kk = Double(k * k)
            let qPower = pow(q, kk)
            k2extra += kk * qPower
            let kspi = Double.pi * Double(k)
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * kk * qPower
        }
        terms[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
        terms[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
        var total = 0.0
        for i in 0..<4 { total += terms[i] / pow(Double(n), Double(i) / 2) }
        return total
    }
}
