import Foundation
import Storage

/// Test helper for the crash-safety test: writes records forever and prints each key once its write returned.
///
/// Usage: storage-stress DATABASE FIRST_INDEX. Record `i` has key `k<i>` and a vector and code derived only from
/// `i` (``StressRecord``), so the parent can check byte-for-byte what survived a SIGKILL.
@main
struct StorageStress {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3, let first = Int(arguments[2]) else {
            FileHandle.standardError.write(Data("usage: storage-stress DATABASE FIRST_INDEX\n".utf8))
            exit(2)
        }
        let store = try ImageStore(path: arguments[1])
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 0, parameters: [])
        var index = first
        while true {
            try store.upsert(StressRecord.write(index: index, scheme: scheme))
            // Unbuffered write: the key reaches the parent the moment the upsert has returned.
            FileHandle.standardOutput.write(Data("k\(index)\n".utf8))
            index += 1
        }
    }
}
