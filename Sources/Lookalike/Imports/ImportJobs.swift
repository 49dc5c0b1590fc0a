import Foundation
import NIOConcurrencyHelpers

/// This node's import jobs: recorded in the journal when created, run one at a time (in creation order) by a
/// thread of their own once started, each with its own number of lanes working on items side by side.
///
/// A job that was queued or running when the process stopped (or was killed) runs again at the next start, from
/// its unfinished items.
final class ImportJobs: Sendable {
    private struct RunState {
        var journal: ImportJournal?
        var running: (id: String, scheduler: ImportScheduler)?
        var started = false
        var stopping = false
        var finished = false
    }

    let journalPath: String
    private let state = NIOLockedValueBox(RunState())
    /// Signalled when a job is created or the runner should stop.
    private let wakeup = NSCondition()

    init(journalPath: String) {
        self.journalPath = journalPath
    }

    /// The journal, opened at first use (commands that never import leave no file behind).
    func journal() throws -> ImportJournal {
        try state.withLockedValue { state in
            if let journal = state.journal { return journal }
            let journal = try ImportJournal(path: journalPath)
            state.journal = journal
            return journal
        }
    }

    func create(_ job: ImportJob, items: [ImportItem]) throws {
        try journal().create(job, items: items)
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
    }

    /// The job as recorded, with the running one's live counts and rate.
    func job(_ id: String) throws -> ImportJob? {
        guard var job = try journal().job(id) else { return nil }
        if let running = state.withLockedValue({ $0.running }), running.id == id {
            let progress = running.scheduler.progress
            job.counts = progress.counts.filter { $0.value > 0 }
            job.itemsPerSecond = progress.itemsPerSecond
        }
        return job
    }

    /// Cancels a queued or running job; its items not yet started stay pending.
    func cancel(_ id: String) throws -> ImportJob {
        let journal = try journal()
        try state.withLockedValue { state in
            guard let job = try journal.job(id) else { throw ImportError.jobNotFound(id) }
            guard job.state == .queued || job.state == .running else { throw ImportError.jobFinished(id) }
            if let running = state.running, running.id == id { running.scheduler.halt() }
            try journal.setState(id, .cancelled, finished: Date())
        }
        return try self.job(id) ?? { throw ImportError.jobNotFound(id) }()
    }

    /// Starts the runner thread (once); `work` runs one job's items and returns when they are done or halted.
    func start(work: @escaping @Sendable (ImportJob, ImportScheduler) -> Void) {
        let first = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started && !state.stopping
        }
        guard first else { return }
        let thread = Thread { [self] in runLoop(work: work) }
        thread.name = "imports"
        thread.start()
    }

    /// Halts the running job (it resumes at the next start) and waits for the runner to end.
    func stop() {
        let running = state.withLockedValue { state -> ImportScheduler? in
            state.stopping = true
            return state.running?.scheduler
        }
        running?.halt()
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
        guard state.withLockedValue({ $0.started }) else { return }
        while !state.withLockedValue({ $0.finished }) { usleep(10_000) }
    }

    private var isStopping: Bool { state.withLockedValue { $0.stopping } }

    private func runLoop(work: @escaping @Sendable (ImportJob, ImportScheduler) -> Void) {
        defer { state.withLockedValue { $0.finished = true } }
        while !isStopping {
            guard let journal = try? journal(), let id = try? journal.unfinishedJobIDs().first, let job = try? journal.job(id) else {
                wakeup.lock()
                if !isStopping { wakeup.wait(until: Date().addingTimeInterval(1)) }
                wakeup.unlock()
                continue
            }
            let scheduler = ImportScheduler(counts: job.counts) { after in
                try journal.items(job: id, states: [.pending, .storing], after: after, limit: 1_000)
            }
            let begun = try? state.withLockedValue { state -> Bool in
                // A cancel may have come between the journal read and here.
                guard !state.stopping, try journal.job(id)?.state == job.state else { return false }
                state.running = (id, scheduler)
                try journal.setState(id, .running, started: job.started == nil ? Date() : nil)
                return true
            }
            guard begun == true else { continue }
            var running = job
            running.state = .running
            work(running, scheduler)
            let failed = (try? state.withLockedValue { state -> Bool in
                let stopping = state.stopping
                state.running = nil
                // Halted by a cancel (already recorded) or by stopping (resumes at the next start): left as is.
                if !scheduler.isHalted { try journal.setState(id, .completed, finished: Date()) }
                let state = try journal.job(id)?.state
                return scheduler.isHalted && !stopping && state == .running
            }) ?? true
            if failed {
                // The journal could not be written: try again in a while rather than at once.
                wakeup.lock()
                if !isStopping { wakeup.wait(until: Date().addingTimeInterval(5)) }
                wakeup.unlock()
            }
        }
    }
}
