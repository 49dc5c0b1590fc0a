/// Append-only storage of fixed-dimension float rows in fixed-size chunks.
///
/// Chunks never move once allocated, so a reader (or a background rebuild) may read rows below a count it
/// observed under the index lock while the writer appends more rows. Row `slot` lives at
/// `chunks[slot / rowsPerChunk] + (slot % rowsPerChunk) * dimension`.
final class VectorStorage {
    let dimension: Int
    let rowsPerChunk: Int
    private(set) var chunks: [UnsafeMutablePointer<Float>] = []
    private(set) var count = 0

    init(dimension: Int, rowsPerChunk: Int = 4096) {
        self.dimension = dimension
        self.rowsPerChunk = rowsPerChunk
    }

    deinit {
        for chunk in chunks { chunk.deallocate() }
    }

    /// Appends a row; returns its slot.
    func append(_ values: UnsafeBufferPointer<Float>) -> Int32 {
        precondition(values.count == dimension, "row has the wrong dimension")
        if count == chunks.count * rowsPerChunk {
            let chunk = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerChunk * dimension)
            chunk.initialize(repeating: 0, count: rowsPerChunk * dimension)
            chunks.append(chunk)
        }
        row(Int32(count)).update(from: values.baseAddress!, count: dimension)
        count += 1
        return Int32(count - 1)
    }

    @inline(__always)
    func row(_ slot: Int32) -> UnsafeMutablePointer<Float> {
        let index = Int(slot)
        return chunks[index / rowsPerChunk] + (index % rowsPerChunk) * dimension
    }

    /// Bytes allocated.
    var allocatedBytes: Int { chunks.count * rowsPerChunk * dimension * 4 }
}
