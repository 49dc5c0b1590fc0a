import Dispatch
import Foundation

/// Partial selection of the best candidates by an integer score (quickselect), shared by the Hamming and
/// subspace stages.
extension SimilarityIndex {
    /// The `count` slots with the largest `scores` (ties at the cut-off: earlier slots first), in slot-list
    /// order: a selection finds the cut-off score in linear time, where keeping a heap of the best would cost
    /// a logarithmic update for most candidates.
    static func largest(_ count: Int, of slots: [Int32], scores: [Int32]) -> [Int32] {
        guard count < slots.count else { return slots }
        guard count > 0 else { return [] }
        var work = scores
        let cutoff = work.withUnsafeMutableBufferPointer { nthLargest(count, in: $0) }
        let above = scores.reduce(0) { $0 + ($1 > cutoff ? 1 : 0) }
        var atCutoff = count - above
        var result: [Int32] = []
        result.reserveCapacity(count)
        for (position, score) in scores.enumerated() {
            if score > cutoff {
                result.append(slots[position])
            } else if score == cutoff && atCutoff > 0 {
                result.append(slots[position])
                atCutoff -= 1
            }
        }
        return result
    }

    /// The `n`-th largest value (1-based) of `values`, which it reorders: quickselect with a median-of-three
    /// pivot and a three-way partition, so equal values cannot make it quadratic.
    static func nthLargest(_ n: Int, in values: UnsafeMutableBufferPointer<Int32>) -> Int32 {
        var low = 0, high = values.count - 1
        let target = n - 1  // index in descending order
        while low < high {
            let middle = low + (high - low) / 2
            let a = values[low], b = values[middle], c = values[high]
            let pivot = max(min(a, b), min(max(a, b), c))
            // Partition descending: [low, greater) > pivot, [greater, smaller] == pivot, (smaller, high] < pivot.
            var greater = low, index = low, smaller = high
            while index <= smaller {
                if values[index] > pivot {
                    values.swapAt(index, greater)
                    greater += 1
                    index += 1
                } else if values[index] < pivot {
                    values.swapAt(index, smaller)
                    smaller -= 1
                } else {
                    index += 1
                }
            }
            if target < greater {
                high = greater - 1
            } else if target > smaller {
                low = smaller + 1
            } else {
                return pivot
            }
        }
        return values[low]
    }

    /// Counting selection: distances are small integers, so a histogram finds the cut-off in one pass and a
    /// second pass collects everything below it plus enough at it (earlier slots first), in linear time.
    static func smallest(_ count: Int, of slots: [Int32], distances: [UInt16], maxDistance: Int) -> [Int32] {
        guard count < slots.count else { return slots }
        var histogram = [Int](repeating: 0, count: maxDistance + 1)
        for distance in distances { histogram[Int(distance)] += 1 }
        return select(count, distances: distances, histogram: histogram) { slots[$0] }
    }

    /// The positions of the `count` smallest `distances` (given their histogram), mapped through `slot`.
    static func select(
        _ count: Int, distances: [UInt16], histogram: [Int], slot: (Int) -> Int32
    ) -> [Int32] {
        var threshold = 0, below = 0
        while below + histogram[threshold] < count {
            below += histogram[threshold]
            threshold += 1
        }
        var atThreshold = count - below
        var result: [Int32] = []
        result.reserveCapacity(count)
        distances.withUnsafeBufferPointer { distances in
            for position in 0..<distances.count {
                let distance = Int(distances[position])
                if distance < threshold {
                    result.append(slot(position))
                } else if distance == threshold && atThreshold > 0 {
                    result.append(slot(position))
                    atThreshold -= 1
                }
            }
        }
        return result
    }
}
