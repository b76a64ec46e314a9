import GitStore
import HTTPClient

enum LinkedLibraries {
    static var versions: [(String, String)] {
        [("libgit2", GitLibrary.version), ("libcurl", HTTPClient.libraryVersion)]
    }
}
