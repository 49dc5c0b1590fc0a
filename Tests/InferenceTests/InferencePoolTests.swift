import Dispatch
import Foundation
import Testing
@testable import Inference
import TestSupport

@Suite(.serialized)
struct InferencePoolTests {
    static var model: ImageModel { EfficientNetLiteTests.model }
    static let tensorSize = 3 * 224 * 224

    /// Two workers that form batches of up to 4 (waiting up to 5 ms for them to fill).
    static func batchingPool() throws -> InferencePool {
        try InferencePool(model: model, configuration: .init(workers: 2, queueCapacity: 16, maxBatch: 4,
                                                             maxBatchWaitMilliseconds: 5))
    }

    /// Six random planar tensors and their vectors computed one at a time on a session of our own.
    static func randomInputs(seed: UInt64) -> (inputs: [[Float]], expected: [[Float]]) {
        var random = SeededRandom(seed: seed)
        let inputs = (0..<6).map { _ in random.floats(tensorSize) }
        let session = InferenceSession(model: model)
        return (inputs, inputs.map { FeatureVector.normalized(session.run($0).features) })
    }

    @Test func concurrentSubmissionsGetTheirOwnVectors() async throws {
        let pool = try Self.batchingPool()
        defer { pool.shutdown() }
        let (inputs, expected) = Self.randomInputs(seed: 99)

        let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask { (index, try await pool.features(for: input)) }
            }
            var results = [[Float]](repeating: [], count: inputs.count)
            for try await (index, vector) in group { results[index] = vector }
            return results
        }
        for index in inputs.indices {
            let difference = zip(results[index], expected[index]).map { abs($0 - $1) }.max()!
            #expect(difference < 1e-5, "image \(index): batched vs single differ by \(difference)")
            let norm = results[index].reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
        #expect(pool.statistics.processedImages == inputs.count)
        #expect(pool.statistics.batches < inputs.count)  // some images shared a batch
    }

    @Test func fullQueueAnswersBusyAtOnce() async throws {
        let pool = try InferencePool(model: Self.model, configuration: .init(workers: 1, queueCapacity: 2, maxBatch: 1,
                                                                             maxBatchWaitMilliseconds: 0))
        defer { pool.shutdown() }
        let input = [Float](repeating: 0.1, count: Self.tensorSize)
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do { _ = try await pool.features(for: input); return "ok" } catch InferencePool.Error.busy {
                        return "busy"
                    } catch { return "other: \(error)" }
                }
            }
            var outcomes: [String] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        // One image running plus two waiting at most can be accepted before the first finishes.
        #expect(outcomes.filter { $0 == "busy" }.count >= 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "ok" }.count >= 1, "\(outcomes)")
        #expect(outcomes.allSatisfy { $0 == "ok" || $0 == "busy" }, "\(outcomes)")
    }

    @Test func cancellationRemovesAWaitingTensor() async throws {
        let pool = try InferencePool(model: Self.model, configuration: .init(workers: 1, queueCapacity: 8, maxBatch: 1,
                                                                             maxBatchWaitMilliseconds: 0))
        defer { pool.shutdown() }
        let input = [Float](repeating: 0.2, count: Self.tensorSize)
        // Hold the only worker inside a preparation that waits for `release`, and queue one tensor behind it,
        // so the tensor we cancel surely waits. Every wait below has a deadline: fail, never hang. The deadlines
        // are long because suites run side by side under ThreadSanitizer and may hold the cooperative threads
        // this test polls from for a minute or more; the held worker must not give up before the test has looked.
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        var released = false
        defer { if !released { release.signal() } }
        let blockers = DispatchGroup()
        blockers.enter()
        Thread {
            _ = try? pool.featuresBlocking { holding.signal(); _ = release.wait(timeout: .now() + 900); return input }
            blockers.leave()
        }.start()
        try #require(holding.wait(timeout: .now() + 300) == .success, "the worker never started the first job")
        blockers.enter()
        Thread {
            _ = try? pool.featuresBlocking(for: input)
            blockers.leave()
        }.start()
        let deadline = Date().addingTimeInterval(300)
        while pool.statistics.queued < 1 && Date() < deadline { try await Task.sleep(for: .milliseconds(1)) }
        let second = Task { try await pool.features(for: input) }
        while pool.statistics.queued < 2 && Date() < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(pool.statistics.queued == 2)
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        release.signal()
        released = true
        blockers.wait()
        #expect(pool.statistics.processedImages == 2)
    }

    struct PrepareFailure: Error, Equatable { let index: Int }

    @Test func tensorsPreparedOnTheWorkerAndTheirErrorsStayTheirOwn() throws {
        let pool = try Self.batchingPool()
        defer { pool.shutdown() }
        let (inputs, expected) = Self.randomInputs(seed: 7)
        // Submitted together so that failing and good preparations share batches: 1 throws, 4 makes a tensor of
        // the wrong size, the rest must come back exactly as if run alone. Odd images are handed over
        // interleaved (HWC), so batches mix layouts too.
        let outcomes = ThreadFanOut.run(count: inputs.count) { index -> Result<[Float], Error> in
            let caller = pthread_self()
            let layout: InferenceSession.InputLayout = index % 2 == 1 ? .interleaved : .planar
            return Result {
                try pool.featuresBlocking(layout: layout) {
                    #expect(pthread_equal(pthread_self(), caller) == 0, "prepare ran on the caller's thread")
                    if index == 1 { throw PrepareFailure(index: index) }
                    if index == 4 { return [0, 1] }
                    return layout == .planar ? inputs[index] : Self.interleaved(inputs[index])
                }
            }
        }
        for (index, outcome) in outcomes.enumerated() {
            switch (index, outcome) {
            case (1, .failure(let error)):
                #expect(error as? PrepareFailure == PrepareFailure(index: 1))
            case (4, .failure(let error)):
                #expect(error as? InferencePool.Error == .invalidInput(expected: Self.tensorSize, got: 2))
            case (_, .success(let vector)) where index != 1 && index != 4:
                let difference = zip(vector, expected[index]).map { abs($0 - $1) }.max()!
                #expect(difference < 1e-5, "image \(index): prepared on the worker vs alone differ by \(difference)")
            default:
                Issue.record("image \(index): unexpected outcome \(outcome)")
            }
        }
        #expect(pool.statistics.processedImages == inputs.count)
    }

    /// CHW → HWC, written out plainly as the reference for the engine's own transposition.
    static func interleaved(_ planar: [Float]) -> [Float] {
        let plane = planar.count / 3
        return (0..<planar.count).map { planar[($0 % 3) * plane + $0 / 3] }
    }

    @Test func interleavedInputGivesTheSameOutputAsPlanar() {
        var random = SeededRandom(seed: 21)
        let planar = random.floats(Self.tensorSize)
        let session = InferenceSession(model: Self.model)
        let fromPlanar = session.run(planar).features
        let fromInterleaved = Self.interleaved(planar).withUnsafeBufferPointer {
            session.run($0, batch: 1, layout: .interleaved).features
        }
        // The stem reads the same values in the same order either way, so the results are identical.
        #expect(fromInterleaved == fromPlanar)
    }

    @Test func wrongInputAndShutdownAreTypedErrors() async throws {
        let pool = try InferencePool(model: Self.model, configuration: .init(workers: 1))
        await #expect(throws: InferencePool.Error.invalidInput(expected: Self.tensorSize, got: 3)) {
            try await pool.features(for: [1, 2, 3])
        }
        pool.shutdown()
        await #expect(throws: InferencePool.Error.shutDown) {
            try await pool.features(for: [Float](repeating: 0, count: Self.tensorSize))
        }
        #expect(throws: InferencePool.Error.self) { try InferencePool(model: Self.model, configuration: .init(workers: 0)) }
    }
}
