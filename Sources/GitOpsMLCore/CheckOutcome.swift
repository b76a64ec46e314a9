/// One health check's outcome as recorded (agent state, `/status`, deployment notes): its name, its status
/// as a word (`Healthy`, `Degraded`…) and the reason a person can act on.
public struct CheckOutcome: Codable, Sendable, Equatable {
    public var name: String
    public var status: String
    public var reason: String

    public init(name: String, status: String, reason: String) {
        self.name = name
        self.status = status
        self.reason = reason
    }
}
