#if canImport(Glibc)
import Glibc
#endif

/// Append-only storage of fixed-dimension rows (float vectors, or fixed-point subspace coordinates) in
/// fixed-size chunks.
///
/// Chunks never move once allocated, so a reader (or a background rebuild) may read rows below a count it
/// observed under the index lock while the writer appends more rows. Row `slot` lives at
/// `chunks[slot / rowsPerChunk] + (slot % rowsPerChunk) * dimension`.
final class VectorStorage<Scalar: Numeric & BitwiseCopyable> {
    let dimension: Int
    let rowsPerChunk: Int
    private(set) var chunks: [UnsafeMutablePointer<Scalar>] = []
    private(set) var count = 0

    init(dimension: Int, rowsPerChunk: Int = 4096) {
        self.dimension = dimension
        self.rowsPerChunk = rowsPerChunk
    }

    deinit {
        for chunk in chunks { UnsafeMutableRawPointer(chunk).deallocate() }
    }

    /// Appends a row; returns its slot.
    func append(_ values: UnsafeBufferPointer<Scalar>) -> Int32 {
        precondition(values.count == dimension, "row has the wrong dimension")
        if count == chunks.count * rowsPerChunk {
            let chunk = Self.allocateChunk(byteCount: rowsPerChunk * dimension * MemoryLayout<Scalar>.stride)
                .bindMemory(to: Scalar.self, capacity: rowsPerChunk * dimension)
            chunk.initialize(repeating: 0, count: rowsPerChunk * dimension)
            chunks.append(chunk)
        }
        row(Int32(count)).update(from: values.baseAddress!, count: dimension)
        count += 1
        return Int32(count - 1)
    }

    private static var hugePageSize: Int { 2 << 20 }

    /// Cache-line aligned memory, so a row whose size is a multiple of 64 bytes spans no extra line. Chunks of
    /// at least 2 MiB are aligned to 2 MiB and offered to the kernel for transparent huge pages: searches read
    /// rows at random, and with 4 KiB pages nearly every such read also misses the TLB.
    private static func allocateChunk(byteCount: Int) -> UnsafeMutableRawPointer {
        guard byteCount >= hugePageSize else { return .allocate(byteCount: byteCount, alignment: 64) }
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: hugePageSize)
        #if os(Linux)
        // Advice only: where huge pages are off the chunk simply keeps 4 KiB pages.
        _ = madvise(chunk, byteCount - byteCount % hugePageSize, MADV_HUGEPAGE)
        #endif
        return chunk
    }

    @inline(__always)
    func row(_ slot: Int32) -> UnsafeMutablePointer<Scalar> {
        let index = Int(slot)
        return chunks[index / rowsPerChunk] + (index % rowsPerChunk) * dimension
    }

    /// Bytes allocated.
    var allocatedBytes: Int { chunks.count * rowsPerChunk * dimension * MemoryLayout<Scalar>.stride }
}
