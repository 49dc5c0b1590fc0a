import Testing
@testable import Lookalike

@Suite struct RecordDirectoryTests {
    @Test func keysNameOneImageAtATime() {
        let directory = RecordDirectory()
        directory.set(id: 1, key: "a", metadata: "{}")
        directory.set(id: 2, key: "b", metadata: #"{"x":1}"#)
        #expect(directory.id(key: "a") == 1 && directory.id(key: "b") == 2)
        #expect(directory.entries(ids: [2, 3]) == [2: .init(key: "b", metadata: #"{"x":1}"#)])

        // A metadata change keeps the key; a key deleted and stored again (a new id) replaces the old id.
        directory.set(id: 1, key: "a", metadata: #"{"y":2}"#)
        #expect(directory.entries(ids: [1])[1]?.metadata == #"{"y":2}"#)
        directory.set(id: 7, key: "a", metadata: "{}")
        #expect(directory.id(key: "a") == 7 && directory.entries(ids: [1]).isEmpty && directory.count == 2)

        // Removing an id frees its key, and removing a stale id leaves the key's current owner alone.
        directory.remove(id: 1)
        #expect(directory.id(key: "a") == 7)
        directory.remove(id: 7)
        #expect(directory.id(key: "a") == nil && directory.count == 1)
        directory.removeAll()
        #expect(directory.count == 0 && directory.id(key: "b") == nil)
    }
}
