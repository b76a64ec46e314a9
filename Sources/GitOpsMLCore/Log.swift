import Foundation

public enum LogLevel: String, Sendable, Comparable, CaseIterable {
    case error, warning, info, debug

    public static func < (a: LogLevel, b: LogLevel) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// Structured, levelled logging to standard error. Messages are passed through URL redaction.
public enum Log {
    nonisolated(unsafe) public static var level: LogLevel = .warning

    public static func log(
        _ messageLevel: LogLevel, _ message: @autoclosure () -> String, _ fields: [String: String] = [:]
    ) {
        guard messageLevel <= level else { return }
        let extra = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\(Redaction.url($0.value))" }.joined()
        let line = "level=\(messageLevel.rawValue) msg=\"\(Redaction.url(message()))\"\(extra)\n"
        StandardStreams.writeError(line)
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
