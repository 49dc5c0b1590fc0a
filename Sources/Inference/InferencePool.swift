import Dispatch
public import HTTPCore
import Foundation

/// A fixed set of inference workers on Dispatch, fed by one bounded queue, with dynamic batching.
///
/// - Each worker runs on its own serial `DispatchQueue` and owns an ``InferenceSession`` (its buffers), so no
///   buffer is ever shared. OpenBLAS is set to one thread per call, so `workers` workers use `workers` cores.
/// - Submissions beyond `queueCapacity` waiting tensors fail at once with ``Error/busy(capacity:)``: memory stays
///   bounded and the HTTP layer can answer 503 with `Retry-After`.
/// - A worker takes up to `maxBatch` waiting tensors, waiting at most `maxBatchWait` after the oldest one
///   arrived for the batch to fill, and runs them as one forward pass.
/// - ``features(for:)`` is `async` and cancellation-safe: a task cancelled while its tensor still waits removes
///   it from the queue and gets `CancellationError`; once computing has begun the result is simply dropped.
public final class InferencePool: Sendable {
    /// Pool sizing.
    public struct Configuration: Sendable {
        /// Number of workers (default: the number of cores).
        public var workers: Int
        /// Largest number of tensors waiting for a worker (default 64).
        public var queueCapacity: Int
        /// Largest batch a worker runs at once (default 2).
        public var maxBatch: Int
        /// Longest time a worker waits for a batch to fill, in milliseconds (default 0: it takes what is
        /// waiting).
        public var maxBatchWaitMilliseconds: Double

        public init(
            workers: Int? = nil, queueCapacity: Int = 64, maxBatch: Int = 2,
            maxBatchWaitMilliseconds: Double = 0
        ) {
            self.workers = workers ?? ProcessInfo.processInfo.activeProcessorCount
            self.queueCapacity = queueCapacity
            self.maxBatch = maxBatch
            self.maxBatchWaitMilliseconds = maxBatchWaitMilliseconds
        }
    }

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        /// The queue already holds `capacity` waiting tensors.
        case busy(capacity: Int)
        /// The pool was shut down.
        case shutDown
        /// The tensor does not have `3 × size × size` values.
        case invalidInput(expected: Int, got: Int)
        /// A configuration value is out of range.
        case invalidConfiguration(String)

        public var description: String {
            switch self {
            case .busy(let capacity): return "inference queue is full (\(capacity) images waiting); retry later"
            case .shutDown: return "inference pool is shut down"
            case .invalidInput(let expected, let got): return "input tensor has \(got) values, expected \(expected)"
            case .invalidConfiguration(let message): return "invalid inference pool configuration: \(message)"
            }
        }
    }

    /// Counters for metrics.
    public struct Statistics: Sendable {
        public var queued: Int
        public var processedImages: Int
        public var batches: Int
        /// Wall-clock seconds workers spent in forward passes (excluding queueing and preparation).
        public var computeSeconds: Double
    }

    public let model: ImageModel
    public let configuration: Configuration
    private let state: State

    public init(model: ImageModel, configuration: Configuration = Configuration()) throws {
        guard (1...256).contains(configuration.workers) else { throw Error.invalidConfiguration("workers must be 1...256") }
        guard configuration.queueCapacity >= 1 else { throw Error.invalidConfiguration("queue capacity must be ≥ 1") }
        guard (1...256).contains(configuration.maxBatch) else { throw Error.invalidConfiguration("max batch must be 1...256") }
        guard configuration.maxBatchWaitMilliseconds >= 0, configuration.maxBatchWaitMilliseconds <= 10_000 else {
            throw Error.invalidConfiguration("max batch wait must be 0...10000 ms")
        }
        self.model = model
        self.configuration = configuration
        self.state = State(configuration: configuration)
        BLAS.setThreadCount(1)
        for index in 0..<configuration.workers {
            let state = self.state
            DispatchQueue(label: "lookalike.inference.\(index)", qos: .userInitiated).async {
                Self.workerLoop(state: state, model: model, maxBatch: configuration.maxBatch)
            }
        }
    }

    deinit {
        state.stop()
    }

    /// Stops the workers after the batches they are running; waiting tensors fail with ``Error/shutDown``.
    public func shutdown() {
        state.stop()
    }

    public var statistics: Statistics { state.statistics() }

    /// The L2-normalised feature vector of one preprocessed CHW tensor.
    public func features(for tensor: [Float]) async throws -> [Float] {
        let expected = 3 * model.inputSize * model.inputSize
        guard tensor.count == expected else { throw Error.invalidInput(expected: expected, got: tensor.count) }
        let job = Job(tensor: tensor)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                state.submit(job) { continuation.resume(with: $0) }
            }
        } onCancel: {
            state.cancel(job)
        }
    }

    /// The same as ``features(for:)`` for a caller on its own thread (an HTTP connection thread): blocks that
    /// thread, never Swift's cooperative pool, until the vector is ready or submission fails.
    public func featuresBlocking(for tensor: [Float]) throws -> [Float] {
        let expected = 3 * model.inputSize * model.inputSize
        guard tensor.count == expected else { throw Error.invalidInput(expected: expected, got: tensor.count) }
        return try wait(for: Job(tensor: tensor))
    }

    /// Like ``featuresBlocking(for:)``, but the tensor, in `layout`, is made by `prepare` on the worker thread
    /// just before the forward pass; an error it throws is rethrown here and the model does not run.
    ///
    /// Why: decoding then happens at most `workers` images at a time, whatever the number of callers, so the
    /// memory of decoded images is bounded by the pool rather than by the number of open connections; and a
    /// caller whose job is refused as ``Error/busy(capacity:)`` has not spent CPU decoding first.
    public func featuresBlocking(
        layout: InferenceSession.InputLayout = .planar, preparing prepare: @escaping @Sendable () throws -> [Float]
    ) throws -> [Float] {
        try wait(for: Job(prepare: prepare, layout: layout))
    }

    private func wait(for job: Job) throws -> [Float] {
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        state.submit(job) { result in
            box.result = result
            done.signal()
        }
        done.wait()
        return try box.result!.get()
    }

    private static func workerLoop(state: State, model: ImageModel, maxBatch: Int) {
        let session = InferenceSession(model: model, maxBatch: maxBatch)
        let size = 3 * model.inputSize * model.inputSize
        var input = [Float](repeating: 0, count: size * maxBatch)
        while let waiting = state.nextBatch() {
            var batch: [Job] = [], tensors: [[Float]] = []
            for job in waiting {
                do {
                    let tensor = try job.prepare()
                    guard tensor.count == size else { throw Error.invalidInput(expected: size, got: tensor.count) }
                    batch.append(job)
                    tensors.append(tensor)
                } catch {
                    state.complete(job, with: .failure(error))
                }
            }
            if batch.isEmpty { continue }
            let start = DispatchTime.now().uptimeNanoseconds
            let output: InferenceSession.Output
            if batch.count == 1 {
                output = tensors[0].withUnsafeBufferPointer { session.run($0, batch: 1, layout: batch[0].layout) }
            } else {
                // A batch runs in one layout: interleaved, unless every tensor in it is planar.
                let layout: InferenceSession.InputLayout = batch.allSatisfy { $0.layout == .planar } ? .planar : .interleaved
                input.withUnsafeMutableBufferPointer { buffer in
                    for (index, (job, tensor)) in zip(batch, tensors).enumerated() {
                        let destination = buffer.baseAddress! + index * size
                        tensor.withUnsafeBufferPointer { source in
                            if job.layout == layout {
                                destination.update(from: source.baseAddress!, count: size)
                            } else {
                                InferenceSession.interleave(planar: source.baseAddress!, images: 1, pixels: size / 3, into: destination)
                            }
                        }
                    }
                }
                output = input.withUnsafeBufferPointer {
                    session.run(UnsafeBufferPointer(rebasing: $0[0..<(batch.count * size)]), batch: batch.count, layout: layout)
                }
            }
            state.recordCompute(seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            let dimension = model.featureDimension
            for (index, job) in batch.enumerated() {
                let vector = FeatureVector.normalized(output.features[(index * dimension)..<((index + 1) * dimension)])
                state.complete(job, with: .success(vector))
            }
        }
    }
}

extension InferencePool {
    typealias Completion = @Sendable (Result<[Float], Swift.Error>) -> Void

    /// Carries a blocking caller's result; written before the semaphore is signalled, read after the wait.
    final class ResultBox: @unchecked Sendable {
        var result: Result<[Float], Swift.Error>?
    }

    /// One submitted image: the closure that makes its tensor on the worker (for a ready tensor, one that
    /// returns it). Its mutable fields are only touched under the pool state's lock.
    final class Job: @unchecked Sendable {
        let prepare: @Sendable () throws -> [Float]
        let layout: InferenceSession.InputLayout
        var continuation: Completion?
        var enqueuedAt: DispatchTime = .now()
        var cancelled = false

        convenience init(tensor: [Float]) { self.init(prepare: { tensor }, layout: .planar) }
        init(prepare: @escaping @Sendable () throws -> [Float], layout: InferenceSession.InputLayout) {
            self.prepare = prepare
            self.layout = layout
        }
    }

    /// The queue and counters shared by submitters and workers, guarded by one condition lock.
    ///
    /// `@unchecked Sendable` is safe because every stored property is read and written only while holding
    /// `condition`, and completions are called after the lock is released.
    final class State: @unchecked Sendable {
        private let condition = NSCondition()
        private var pending: [Job] = []
        private var stopping = false
        private var processed = 0
        private var batches = 0
        private var computeSeconds = 0.0
        private let capacity: Int
        private let maxBatch: Int
        private let maxWait: Double

        init(configuration: Configuration) {
            capacity = configuration.queueCapacity
            maxBatch = configuration.maxBatch
            maxWait = configuration.maxBatchWaitMilliseconds / 1000
        }

        func submit(_ job: Job, continuation: @escaping Completion) {
            condition.lock()
            let failure: Swift.Error?
            if job.cancelled {
                failure = CancellationError()
            } else if stopping {
                failure = Error.shutDown
            } else if pending.count >= capacity {
                failure = Error.busy(capacity: capacity)
            } else {
                failure = nil
                job.continuation = continuation
                job.enqueuedAt = .now()
                pending.append(job)
                condition.broadcast()
            }
            condition.unlock()
            if let failure { continuation(.failure(failure)) }
        }

        func cancel(_ job: Job) {
            condition.lock()
            job.cancelled = true
            var continuation: Completion? = nil
            if let index = pending.firstIndex(where: { $0 === job }) {
                pending.remove(at: index)
                continuation = job.continuation
                job.continuation = nil
            }
            condition.unlock()
            continuation?(.failure(CancellationError()))
        }

        /// Blocks until a batch is ready; `nil` when the pool stops.
        func nextBatch() -> [Job]? {
            condition.lock()
            defer { condition.unlock() }
            while true {
                while pending.isEmpty && !stopping { condition.wait() }
                if stopping { return nil }
                let deadline = Date(timeIntervalSinceNow: maxWait
                    - Double(DispatchTime.now().uptimeNanoseconds - pending[0].enqueuedAt.uptimeNanoseconds) / 1e9)
                while pending.count < maxBatch && !stopping && Date() < deadline {
                    _ = condition.wait(until: deadline)
                }
                if stopping { return nil }
                if pending.isEmpty { continue }  // another worker took them
                let batch = Array(pending.prefix(maxBatch))
                pending.removeFirst(batch.count)
                batches += 1
                return batch
            }
        }

        func recordCompute(seconds: Double) {
            condition.lock()
            computeSeconds += seconds
            condition.unlock()
        }

        func complete(_ job: Job, with result: Result<[Float], Swift.Error>) {
            condition.lock()
            let continuation = job.continuation
            job.continuation = nil
            processed += 1
            condition.unlock()
            continuation?(result)
        }

        func stop() {
            condition.lock()
            stopping = true
            let abandoned = pending
            pending = []
            let continuations = abandoned.compactMap { job -> Completion? in
                defer { job.continuation = nil }
                return job.continuation
            }
            condition.broadcast()
            condition.unlock()
            for continuation in continuations { continuation(.failure(Error.shutDown)) }
        }

        func statistics() -> Statistics {
            condition.lock()
            defer { condition.unlock() }
            return Statistics(queued: pending.count, processedImages: processed, batches: batches, computeSeconds: computeSeconds)
        }
    }
}

extension InferencePool.Error: HTTPResponseError {
    public var status: HTTPStatus {
        switch self {
        case .busy, .shutDown: .serviceUnavailable
        case .invalidInput, .invalidConfiguration: .internalServerError
        }
    }
}
