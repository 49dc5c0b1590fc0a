/// A fixed number of float buffers of one size, grown (never shrunk) as larger batches arrive. Owned by one
/// inference session, so not thread-safe.
final class ActivationBuffers {
    private(set) var buffers: [UnsafeMutablePointer<Float>] = []
    private(set) var count = 0
    let number: Int

    init(number: Int) {
        self.number = number
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }

    /// Makes every buffer hold at least `count` floats (zeroed when allocated).
    func reserve(_ count: Int) {
        guard count > self.count else { return }
        for buffer in buffers { buffer.deallocate() }
        buffers = (0..<number).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0, count: count)
            return buffer
        }
        self.count = count
    }

    subscript(index: Int) -> UnsafeMutablePointer<Float> { buffers[index] }
}
