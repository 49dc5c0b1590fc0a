import Foundation
import NIOConcurrencyHelpers
import Synchronization

/// One collection's move to another recipe, worked on by a thread of its own (``LookalikeService`` runs it): the
/// status the API reads, the embedder of the target recipe, and the flag that stops the work at shutdown.
final class RecipeChange: Sendable {
    let collectionID: Int64
    let collectionName: String
    /// Embeds with the target recipe (the collection's model, worker pool and limits).
    let target: ImageEmbedder
    private let state: NIOLockedValueBox<RecipeChangeStatus>
    private let stopping = Atomic(false)
    private let started = Atomic(false)
    private let ended = DispatchSemaphore(value: 0)

    init(collectionID: Int64, collectionName: String, from: EmbeddingRecipe, target: ImageEmbedder) {
        self.collectionID = collectionID
        self.collectionName = collectionName
        self.target = target
        state = NIOLockedValueBox(RecipeChangeStatus(
            state: .running, from: from, target: target.embeddingRecipe, total: 0, done: 0, resumed: 0, started: Date(), finished: nil,
            error: nil, failures: []))
    }

    var status: RecipeChangeStatus { state.withLockedValue { $0 } }

    /// Whether uploads should also stage a vector of the target recipe.
    var isComputing: Bool { state.withLockedValue { $0.state == .running } }

    func update(_ body: (inout RecipeChangeStatus) -> Void) { state.withLockedValue { body(&$0) } }

    func finish(_ outcome: RecipeChangeStatus.State, error: String? = nil) {
        state.withLockedValue {
            $0.state = outcome
            $0.error = error
            $0.finished = Date()
        }
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Runs `work` on a thread of its own; ``stop()`` waits for it.
    func start(_ work: @escaping @Sendable () -> Void) {
        started.store(true, ordering: .releasing)
        let thread = Thread { [ended] in
            work()
            ended.signal()
        }
        thread.name = "lookalike.recipe.\(collectionName)"
        thread.start()
    }

    /// Asks the work to stop (at shutdown; it resumes at the next start) and waits until it has.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        guard started.load(ordering: .acquiring) else { return }
        ended.wait()
        ended.signal()
    }
}
