import Foundation

/// Special functions for p-values.
public enum SpecialFunctions {
    /// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a): a series below a + 1,
    /// Lentz's continued fraction above (Numerical Recipes §6.2), to about 1e-15.
    public static func gammaQ(_ a: Double, _ x: Double) -> Double {
        guard x > 0 else { return 1 }
        guard a > 0 else { return 0 }
        let logPrefix = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            var sum = 1 / a
            var term = sum
            var n = a
            for _ in 0..<10_000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-17 { break }
            }
            return max(0, 1 - sum * exp(logPrefix))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return min(1, exp(logPrefix) * h)
    }

    /// The upper tail of the chi-square distribution with `dof` degrees of freedom.
    public static func chiSquareSF(_ x: Double, dof: Double) -> Double { gammaQ(dof / 2, x / 2) }

    /// The regularized incomplete beta function I_x(a, b), by Lentz's continued fraction on the side where
    /// it converges (Numerical Recipes §6.4), to about 1e-15.
    public static func incompleteBeta(_ x: Double, _ a: Double, _ b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x < 1 else { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) { return exp(logFront) * betaFraction(x, a, b) / a }
        return 1 - exp(logFront) * betaFraction(1 - x, b, a) / b
    }

    static func betaFraction(_ x: Double, _ a: Double, _ b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1..<100_000 {
            let m = Double(m)
            let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + even * d
            if abs(d) < tiny { d = tiny }
            c = 1 + even / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + odd * d
            if abs(d) < tiny { d = tiny }
            c = 1 + odd / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return h
    }

    /// Student's t distribution function with `df` degrees of freedom.
    public static func studentTCDF(_ t: Double, df: Double) -> Double {
        guard t.isFinite else { return t > 0 ? 1 : 0 }
        let tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
        return t > 0 ? 1 - tail : tail
    }

    /// Its quantile, by bisection on the distribution function (to full precision).
    public static func studentTQuantile(_ p: Double, df: Double) -> Double {
        var low = -1e6
        var high = 1e6
        for _ in 0..<300 {
            let middle = (low + high) / 2
            if middle == low || middle == high { break }
            if studentTCDF(middle, df: df) < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
