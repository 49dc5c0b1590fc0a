import MetadataFilter
import Dispatch
import Foundation

/// Candidate sources and narrowing: forest leaves de-duplicated, the Hamming scan of the packed codes, and the
/// principal-subspace pre-ranking.
extension SimilarityIndex {
    /// The best `max(reducedRerankLimit, wanted)` of `slots` by their inner product with `query` in the principal
    /// subspace; all of `slots` when there is no subspace or they are already that few.
    func closestInSubspace(_ slots: [Int32], to query: UnsafePointer<Float>, count wanted: Int) -> [Int32] {
        let limit = max(subspaceLimit, 4 * wanted)
        guard let subspace, let reducedRows, slots.count > limit else { return slots }
        let reducedQuery = subspace.fixedPointCoordinates(of: query)
        var scores = [Int32](repeating: 0, count: slots.count)
        // The rows are read at random, so this stage waits on memory. Scoring a block of rows in two passes,
        // first the leading 16 bytes of every 64-byte line of every row (a few instructions per line, so the
        // whole block's loads fit in the processor's reorder window), then the rest, puts the block's cache
        // misses in flight together instead of one row's after another's.
        let vectorsPerRow = subspace.paddedLength / 8, vectorsPerLine = 4, blockSize = 16
        let rows = UnsafeMutablePointer<UnsafePointer<Int16>>.allocate(capacity: blockSize)
        let sums = UnsafeMutablePointer<SIMD4<Int32>>.allocate(capacity: blockSize)
        defer { rows.deallocate(); sums.deallocate() }
        reducedQuery.withUnsafeBufferPointer { reducedQuery in
            let query = reducedQuery.baseAddress!
            var start = 0
            while start < slots.count {
                let count = min(blockSize, slots.count - start)
                for index in 0..<count {
                    let row = UnsafePointer(reducedRows.row(slots[start + index]))
                    rows[index] = row
                    var sum = SIMD4<Int32>()
                    for vector in stride(from: 0, to: vectorsPerRow, by: vectorsPerLine) {
                        sum &+= PrincipalSubspace.partialDot(query + 8 * vector, row + 8 * vector, vectors: 1)
                    }
                    sums[index] = sum
                }
                for index in 0..<count {
                    let row = rows[index]
                    var sum = sums[index]
                    for vector in stride(from: 0, to: vectorsPerRow, by: vectorsPerLine) {
                        let rest = min(vectorsPerLine, vectorsPerRow - vector) - 1
                        sum &+= PrincipalSubspace.partialDot(query + 8 * (vector + 1), row + 8 * (vector + 1), vectors: rest)
                    }
                    scores[start + index] = sum.wrappedSum()
                }
                start += count
            }
        }
        return Self.largest(limit, of: slots, scores: scores)
    }

    /// `candidates` without repeats (the trees overlap) and without tombstones, in first-seen order; a bitmap
    /// over slots makes this linear.
    func uniqueLiveSlots(_ candidates: [Int32]) -> [Int32] {
        var seen = [UInt64](repeating: 0, count: (slotTable.count + 63) / 64)
        var unique: [Int32] = []
        unique.reserveCapacity(candidates.count)
        seen.withUnsafeMutableBufferPointer { seen in
            slotTable.isDeleted.withUnsafeBufferPointer { deleted in
                for slot in candidates {
                    let word = Int(slot) >> 6, bit = UInt64(1) << UInt64(slot & 63)
                    guard seen[word] & bit == 0 else { continue }
                    seen[word] |= bit
                    if !deleted[Int(slot)] { unique.append(slot) }
                }
            }
        }
        return unique
    }

    /// The `count` slots of `slots` with the smallest Hamming distance to `code`.
    func closestByHamming(_ slots: [Int32], to code: BinaryCode, count: Int) -> [Int32] {
        let words = codeWords
        let distances = code.words.withUnsafeBufferPointer { query in
            codes.withUnsafeBufferPointer { codes in
                slots.map { slot in
                    UInt16(BinaryCode.distance(query.baseAddress!, codes.baseAddress! + Int(slot) * words, wordCount: words))
                }
            }
        }
        return Self.smallest(count, of: slots, distances: distances, maxDistance: words * 64)
    }

    /// The `count` live slots with the smallest Hamming distance to `code`: one pass over the packed codes writes
    /// each slot's distance and counts it in a histogram (tombstones get a distance no code can have), then the
    /// counting selection picks the slots.
    /// `admitted`, when given, replaces the live slots (a filter's rows that are live).
    func hammingCandidates(_ code: BinaryCode, count: Int, admitted: SlotBitmap? = nil) -> [Int32] {
        let words = codeWords, total = slotTable.count, tombstone = words * 64 + 1, buckets = tombstone + 1
        // Four interleaved histograms (by slot mod 4): neighbouring codes often share a distance, and one
        // histogram would chain each increment on the previous one's store.
        var histograms = [Int](repeating: 0, count: 4 * buckets)
        let distances = [UInt16](unsafeUninitializedCapacity: total) { distances, initialized in
            code.words.withUnsafeBufferPointer { query in
                codes.withUnsafeBufferPointer { codes in
                    histograms.withUnsafeMutableBufferPointer { histograms in
                        // Computed for every row and then selected, so the tombstones (or a filter's refused
                        // rows) cost no mispredicted branch.
                        @inline(__always) func scan(wordCount: Int, skips: (Int) -> Bool) {
                            for slot in 0..<total {
                                let computed = BinaryCode.distance(
                                    query.baseAddress!, codes.baseAddress! + slot * wordCount, wordCount: wordCount)
                                let distance = skips(slot) ? tombstone : computed
                                distances[slot] = UInt16(distance)
                                histograms[(slot & 3) * buckets + distance] &+= 1
                            }
                        }
                        if let admitted {
                            admitted.words.withUnsafeBufferPointer { bits in
                                let skips = { (slot: Int) in (bits[slot >> 6] >> UInt64(slot & 63)) & 1 == 0 }
                                // The common 256-bit code gets a loop the compiler unrolls and vectorises.
                                if words == 4 { scan(wordCount: 4, skips: skips) } else { scan(wordCount: words, skips: skips) }
                            }
                        } else {
                            slotTable.isDeleted.withUnsafeBufferPointer { deleted in
                                let skips = { (slot: Int) in deleted[slot] }
                                if words == 4 { scan(wordCount: 4, skips: skips) } else { scan(wordCount: words, skips: skips) }
                            }
                        }
                    }
                }
            }
            initialized = total
        }
        let histogram = (0..<buckets).map {
            histograms[$0] &+ histograms[buckets + $0] &+ histograms[2 * buckets + $0] &+ histograms[3 * buckets + $0]
        }
        let live = total - histogram[tombstone]
        return Self.select(min(count, live), distances: distances, histogram: histogram) { Int32($0) }
    }
}
