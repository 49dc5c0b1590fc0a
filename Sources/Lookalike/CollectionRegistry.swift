import NIOConcurrencyHelpers

/// The service's open collections by name, and the bookkeeping that keeps a follower pass from undoing this
/// node's own creations and deletions. The lock is held only to look up, reserve, add or remove an entry: never
/// across store I/O or a load.
final class CollectionRegistry: Sendable {
    private struct State {
        var collections: [String: ImageCollection] = [:]
        /// Names being created: reserved, not yet open.
        var reserved: Set<String> = []
        /// Counts this node's creations and deletions, so a follower pass can tell that a listing of the store it
        /// read may predate one of them (and must not undo it).
        var membershipChanges = 0
        /// Collections this node is deleting: out of the registry, not yet out of the store.
        var deleting: Set<Int64> = []
    }

    /// Read by every request: a pthread lock (see ``FIFOGate``).
    private let state = NIOLockedValueBox(State())
    private let capacity: Int

    /// `capacity`: the most collections there may be.
    init(capacity: Int) {
        self.capacity = capacity
    }

    subscript(name: String) -> ImageCollection? { state.withLockedValue { $0.collections[name] } }

    /// Every open collection, by name.
    var all: [ImageCollection] { state.withLockedValue { $0.collections.values.sorted { $0.name < $1.name } } }

    var names: Set<String> { state.withLockedValue { Set($0.collections.keys) } }

    var membershipChanges: Int { state.withLockedValue { $0.membershipChanges } }

    /// Adds a collection opened at start.
    func insert(_ collection: ImageCollection) {
        state.withLockedValue { $0.collections[collection.name] = collection }
    }

    /// Puts `successor` (the same collection on another recipe) in the place of `current`; false when `current`
    /// is no longer registered (deleted meanwhile).
    @discardableResult
    func replace(_ current: ImageCollection, with successor: ImageCollection) -> Bool {
        state.withLockedValue { state in
            guard state.collections[current.name] === current else { return false }
            state.collections[current.name] = successor
            return true
        }
    }

    /// Reserves `name` for a creation, checking that it is free and the cap not reached; ``publish(_:)`` or
    /// ``release(_:)`` ends the reservation.
    func reserve(_ name: String) throws {
        try state.withLockedValue { state in
            guard state.collections[name] == nil, !state.reserved.contains(name) else {
                throw LookalikeError.collectionExists(name)
            }
            guard state.collections.count + state.reserved.count < capacity else {
                throw LookalikeError.tooManyCollections(capacity)
            }
            state.reserved.insert(name)
        }
    }

    /// Makes a reserved name's collection visible.
    func publish(_ collection: ImageCollection) {
        state.withLockedValue { state in
            state.reserved.remove(collection.name)
            state.membershipChanges += 1
            state.collections[collection.name] = collection
        }
    }

    /// Gives up a reservation (the creation failed).
    func release(_ name: String) {
        _ = state.withLockedValue { $0.reserved.remove(name) }
    }

    /// Takes `name` out for deletion; ``finishDeleting(_:)`` ends it once the store no longer holds it.
    func beginDeleting(_ name: String) throws -> ImageCollection {
        try state.withLockedValue { state in
            guard let collection = state.collections.removeValue(forKey: name) else {
                throw LookalikeError.collectionNotFound(name)
            }
            state.membershipChanges += 1
            state.deleting.insert(collection.id)
            return collection
        }
    }

    /// Counted again once the store no longer holds it: a listing read in between still shows it.
    func finishDeleting(_ collection: ImageCollection) {
        state.withLockedValue { state in
            state.membershipChanges += 1
            state.deleting.remove(collection.id)
        }
    }

    /// Drops the collections `isStale` picks, unless this node changed membership since `changesBefore` (its
    /// listing may then not show the change yet); nil in that case.
    func removeStale(since changesBefore: Int, where isStale: (ImageCollection) -> Bool) -> [ImageCollection]? {
        state.withLockedValue { state in
            guard state.membershipChanges == changesBefore else { return nil }
            let stale = state.collections.values.filter(isStale)
            for collection in stale { state.collections[collection.name] = nil }
            return stale
        }
    }

    /// Adds a collection another node created, unless this node changed membership since `changesBefore`, is
    /// deleting it, or has one of that name already; false when not added.
    func adopt(_ collection: ImageCollection, since changesBefore: Int) -> Bool {
        state.withLockedValue { state in
            guard state.membershipChanges == changesBefore, !state.deleting.contains(collection.id),
                  state.collections[collection.name] == nil, !state.reserved.contains(collection.name) else { return false }
            state.collections[collection.name] = collection
            return true
        }
    }
}
