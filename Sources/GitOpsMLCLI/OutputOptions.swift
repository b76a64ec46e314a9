import ArgumentParser

/// The output formats a command offers: every command spells its choice `--format NAME`.
protocol OutputFormat: RawRepresentable, ExpressibleByArgument, CaseIterable, Equatable, Sendable
where RawValue == String {
    static var text: Self { get }
    static var json: Self { get }
    /// The Markdown format, for the `--md` shorthand; nil where the command has none.
    static var markdownFormat: Self? { get }
}

extension OutputFormat {
    static var markdownFormat: Self? { Self(rawValue: "markdown") }
}

/// Text or JSON: what most commands print.
enum TextOrJSON: String, OutputFormat { case text, json }

/// One convention for every command's output: `--format NAME`, with `--json` (and `--md` where Markdown
/// is one of the formats) as the shorthands users of dvc and gto type. (`check`, which writes several
/// reports at once, takes `--format NAME[:PATH]` repeated, with the same names.)
struct OutputOptions<Format: OutputFormat>: ParsableArguments {
    @Option(name: .long, help: "The output format (default text).") var format: Format?

    @Flag(name: .long, help: "Shorthand for --format json (as dvc and gto spell it).")
    var json = false

    @Flag(
        name: .long,
        help: Format.markdownFormat == nil
            ? .hidden : ArgumentHelp("Shorthand for --format markdown (as dvc spells it)."))
    var md = false

    /// The format asked for (text when none is).
    var chosen: Format { format ?? (json ? .json : md ? (Format.markdownFormat ?? .text) : .text) }

    func validate() throws {
        if md && Format.markdownFormat == nil { throw ValidationError("--md: this command prints no Markdown") }
        let asked = [format, json ? .json : nil, md ? Format.markdownFormat : nil].compactMap { $0 }
        if Set(asked.map(\.rawValue)).count > 1 {
            throw ValidationError(
                "choose one output format: \(asked.map { "--format \($0.rawValue)" }.joined(separator: " or "))")
        }
    }
}
