import NIOConcurrencyHelpers

/// The key and metadata of every image a collection's index holds, by id and by key: what a search answer or a
/// `similar` lookup needs, so neither reads the store (a round trip to PostgreSQL on a shared store; the index
/// keeps answering while that database is away). Kept in step with the index by the collection's writes and
/// change-following; about the size of the keys and metadata text.
final class RecordDirectory: Sendable {
    struct Entry: Sendable, Equatable {
        let key: String
        let metadata: String
    }

    private struct State {
        var byID: [Int64: Entry] = [:]
        var idByKey: [String: Int64] = [:]
    }

    /// Read by every search: a pthread lock (see ``FIFOGate``).
    private let state = NIOLockedValueBox(State())

    var count: Int { state.withLockedValue { $0.byID.count } }

    /// Records `id` under `key` (replacing what `id` or `key` was before: a key names one image at a time).
    func set(id: Int64, key: String, metadata: String) {
        state.withLockedValue { state in
            if let previous = state.byID[id], previous.key != key, state.idByKey[previous.key] == id {
                state.idByKey[previous.key] = nil
            }
            if let other = state.idByKey[key], other != id { state.byID[other] = nil }
            state.byID[id] = Entry(key: key, metadata: metadata)
            state.idByKey[key] = id
        }
    }

    func remove(id: Int64) {
        state.withLockedValue { state in
            guard let entry = state.byID.removeValue(forKey: id) else { return }
            if state.idByKey[entry.key] == id { state.idByKey[entry.key] = nil }
        }
    }

    func removeAll() { state.withLockedValue { $0 = State() } }

    func id(key: String) -> Int64? { state.withLockedValue { $0.idByKey[key] } }

    /// Every entry, by id.
    var all: [Int64: Entry] { state.withLockedValue { $0.byID } }

    /// The entries of `ids` that are known (others are skipped).
    func entries(ids: [Int64]) -> [Int64: Entry] {
        state.withLockedValue { state in
            var found: [Int64: Entry] = [:]
            found.reserveCapacity(ids.count)
            for id in ids { if let entry = state.byID[id] { found[id] = entry } }
            return found
        }
    }
}
