/// A read-only view of the first `count` rows of a ``VectorStorage``, safe to use from another thread while the
/// writer appends: it holds its own copy of the chunk pointers, and rows below `count` are never written again.
///
/// `@unchecked Sendable` is safe because the rows it can reach were completely written before the view was
/// taken (under the index lock) and are immutable afterwards; chunks are freed only when the storage is, and the
/// storage outlives every view (the index keeps it alive).
struct RowSource: @unchecked Sendable {
    let chunks: [UnsafeMutablePointer<Float>]
    let rowsPerChunk: Int
    let dimension: Int
    let count: Int

    init(_ storage: VectorStorage<Float>) {
        chunks = storage.chunks
        rowsPerChunk = storage.rowsPerChunk
        dimension = storage.dimension
        count = storage.count
    }

    @inline(__always)
    func row(_ slot: Int32) -> UnsafePointer<Float> {
        let index = Int(slot)
        return UnsafePointer(chunks[index / rowsPerChunk] + (index % rowsPerChunk) * dimension)
    }
}
