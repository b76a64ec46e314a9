import Foundation

public enum LogLevel: String, Sendable, Comparable, CaseIterable {
    case error, warning, info, debug

    public static func < (a: LogLevel, b: LogLevel) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// Structured, levelled logging to standard error. Messages and field values pass through URL redaction.
public enum Log {
    nonisolated(unsafe) public static var level: LogLevel = .warning
    /// Where records go instead of standard error: the agent hands them to its swift-log logger, so that
    /// a long-running agent writes one format. Set once, at start.
    nonisolated(unsafe) public static var sink: (@Sendable (LogLevel, String, [String: String]) -> Void)?

    public static func log(
        _ messageLevel: LogLevel, _ message: @autoclosure () -> String, _ fields: [String: String] = [:]
    ) {
        guard messageLevel <= level else { return }
        let (text, values) = (Redaction.url(message()), fields.mapValues(Redaction.url))
        if let sink { return sink(messageLevel, text, values) }
        let extra = values.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        StandardStreams.writeError("level=\(messageLevel.rawValue) msg=\"\(text)\"\(extra)\n")
    }

    public static func debug(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.debug, message(), fields)
    }
    public static func info(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.info, message(), fields)
    }
    public static func warning(_ message: @autoclosure () -> String, _ fields: [String: String] = [:]) {
        log(.warning, message(), fields)
    }
}
