import NIOConcurrencyHelpers
import Foundation
import Storage

/// Following a shared store: this node applies what other nodes (or the CLI on the same file) stored, and keeps
/// its set of collections in line with the store's.
extension LookalikeService {
    /// Applies changes that another process (a second node, or the CLI on the same file) stored since each
    /// index was loaded. Returns the number of changes applied.
    @discardableResult
    public func catchUp() throws -> Int {
        var applied = 0
        for collection in registry.all { applied += try collection.catchUp() }
        return applied
    }

    /// Brings the set of collections in line with the store's (created or deleted by another node), then
    /// applies the changes of every collection that has some. Returns the number of changes applied.
    @discardableResult
    public func synchronize() throws -> Int {
        let changesBefore = registry.membershipChanges
        let stored = try store.collections()
        let storedByName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Gone, or deleted and created anew under the same name (a new id) — unless this node created or deleted
        // a collection since the listing was read: then the listing may not show it yet, and the next pass decides.
        let removed = registry.removeStale(since: changesBefore) { storedByName[$0.name]?.id != $0.id }
        for collection in removed ?? [] { collection.close(removingSnapshot: true) }
        // A code scheme another node learned and stored; a recipe another node switched to.
        for entry in stored {
            guard let collection = registry[entry.name], collection.id == entry.id else { continue }
            try collection.adoptCodeScheme(entry.codeSchemeID)
            try adoptRecipe(of: entry, replacing: collection)
        }
        let known = registry.names
        for entry in stored where removed != nil && !known.contains(entry.name) {
            let collection = try openCollection(entry)
            collection.index.removeSnapshot()
            try collection.load()
            // A local deletion meanwhile may be of this very collection; the next pass reads the store again.
            if !registry.adopt(collection, since: changesBefore) { collection.close(removingSnapshot: false) }
        }
        // The listing carries each collection's last sequence, so a doorbell rung by this node's own write costs
        // no further read.
        var applied = 0
        for entry in stored {
            guard let collection = registry[entry.name], collection.id == entry.id else { continue }
            if collection.index.sequence < entry.lastSequence { applied += try collection.catchUp() }
            try collection.compactTombstonesIfDue()
        }
        return applied
    }

    /// Switches to the recipe another node re-embedded the collection to: the collection is opened and loaded
    /// anew and takes the open one's place; then images this node stored on the old recipe meanwhile are
    /// re-embedded.
    func adoptRecipe(of entry: StoredCollection, replacing collection: ImageCollection) throws {
        let settings = CollectionSettings.stored(entry.settings, defaults: CollectionSettings(defaults: configuration))
        guard embedder(for: settings.recipe) !== collection.embedder else { return }
        try collection.handOver {
            let successor = try openCollection(entry)
            try successor.load()
            registry.replace(collection, with: successor)
        }
        try sweepOtherRecipes(entry.name)
    }

    /// Starts following other nodes' writes, when the store is shared (PostgreSQL); a no-op otherwise.
    public func startFollowing() {
        guard store.isShared else { return }
        let follower = ChangeFollower(
            interval: Double(configuration.storage.followIntervalMilliseconds) / 1000,
            pass: { [weak self] in try self?.synchronize() ?? 0 },
            wait: { [store] timeout in store.waitForChanges(timeout: timeout) })
        let started = lifecycle.withLockedValue { current -> Bool in
            guard current == nil else { return false }
            current = follower
            return true
        }
        if started { follower.start() }
    }

    /// Whether this node has caught up with the shared database recently (always true for a store of its own):
    /// false while the database is unreachable, or before the first pass after start.
    public var followStatus: (caughtUp: Bool, detail: String?) {
        guard let follower = lifecycle.withLockedValue({ $0 }) else { return (true, nil) }
        let status = follower.status
        let limit = max(2, 3 * Double(configuration.storage.followIntervalMilliseconds) / 1000)
        guard let at = status.caughtUpAt else { return (false, status.error ?? "catching up") }
        if let error = status.error { return (false, error) }
        return (Date().timeIntervalSince(at) <= limit, nil)
    }

    /// Seconds since this node last caught up with the shared database (0 for a store of its own; the time since
    /// start before the first pass): what an alert on a node cut off from the database watches.
    public var followLagSeconds: Double {
        guard let follower = lifecycle.withLockedValue({ $0 }) else { return 0 }
        return follower.lagSeconds
    }

}
