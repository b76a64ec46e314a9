internal import CLibGit2
import GitOpsMLCore

/// Trailers of a commit message (`Key: value` lines of its last paragraph), parsed by libgit2 the way
/// `git interpret-trailers` reads them, in order; a key may repeat.
public enum CommitTrailers {
    public static func parse(_ message: String) -> [(key: String, value: String)] {
        var array = git_message_trailer_array()
        guard git_message_trailers(&array, message) == 0 else { return [] }
        defer { git_message_trailer_array_free(&array) }
        return (0..<array.count).compactMap { index in
            let trailer = array.trailers[index]
            guard let key = trailer.key, let value = trailer.value else { return nil }
            return (String(cString: key), String(cString: value))
        }
    }

    /// The value of the last `key` trailer (compared without case, as git does), nil when there is none.
    public static func value(_ key: String, in message: String) -> String? {
        parse(message).last { $0.key.lowercased() == key.lowercased() }?.value
    }
}
