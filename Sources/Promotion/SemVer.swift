/// A semantic version as GTO writes them (`v1.2.3`, `v1.2.3-rc.1+build`), ordered by semver 2.0 rules.
public struct SemVer: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    public var prerelease: [String]
    public var build: String?

    public enum Part: String, Sendable, CaseIterable { case major, minor, patch }

    /// Parses `v1.2.3` (the `v` is required, as in GTO's tags) or, with `requirePrefix: false`, `1.2.3`.
    public init?(_ text: String, requirePrefix: Bool = true) {
        var rest = Substring(text)
        if rest.hasPrefix("v") { rest = rest.dropFirst() } else if requirePrefix { return nil }
        if let plus = rest.firstIndex(of: "+") {
            let build = rest[rest.index(after: plus)...]
            guard !build.isEmpty,
                build.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(SemVer.isIdentifier)
            else { return nil }
            self.build = String(build)
            rest = rest[..<plus]
        }
        var prerelease: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            let parts = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false)
            guard !parts.isEmpty, parts.allSatisfy({ SemVer.isIdentifier($0) && !SemVer.hasLeadingZero($0) }) else {
                return nil
            }
            prerelease = parts.map(String.init)
            rest = rest[..<dash]
        }
        let numbers = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3,
            numbers.allSatisfy({
                !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) && !SemVer.hasLeadingZero($0)
            }),
            let major = Int(numbers[0]), let minor = Int(numbers[1]), let patch = Int(numbers[2])
        else { return nil }
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
    }

    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = []
    }

    public var description: String {
        var text = "v\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.joined(separator: ".") }
        if let build { text += "+" + build }
        return text
    }

    /// The next version: `v1.2.3` bumped by minor is `v1.3.0`.
    public func bumped(_ part: Part) -> SemVer {
        switch part {
        case .major: return SemVer(major: major + 1, minor: 0, patch: 0)
        case .minor: return SemVer(major: major, minor: minor + 1, patch: 0)
        case .patch: return SemVer(major: major, minor: minor, patch: prerelease.isEmpty ? patch + 1 : patch)
        }
    }

    public static func < (a: SemVer, b: SemVer) -> Bool {
        if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch) {
            return (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
        }
        // A pre-release sorts before its release; identifiers compare numerically when both are numbers.
        if a.prerelease.isEmpty || b.prerelease.isEmpty { return !a.prerelease.isEmpty && b.prerelease.isEmpty }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            switch (Int(x), Int(y)) {
            case (let i?, let j?): return i < j
            case (.some, nil): return true
            case (nil, .some): return false
            default: return x < y
            }
        }
        return a.prerelease.count < b.prerelease.count
    }

    /// Equality ignores build metadata, as ordering does.
    public static func == (a: SemVer, b: SemVer) -> Bool {
        (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch) && a.prerelease == b.prerelease
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    private static func isIdentifier(_ text: Substring) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            }
    }

    private static func hasLeadingZero(_ text: Substring) -> Bool {
        text.count > 1 && text.first == "0" && text.allSatisfy(\.isNumber)
    }
}
