import Testing
@testable import MetadataFilter

/// The bitmap's word-level operations against a plain array of booleans.
struct SlotBitmapTests {
    typealias Generator = RandomFilterTests.Generator

    static func rows(_ bitmap: SlotBitmap) -> [Int] {
        var rows: [Int] = []
        bitmap.forEachRow { rows.append($0) }
        return rows
    }

    @Test(arguments: [0, 1, 7, 63, 64, 65, 127, 128, 200, 1_000])
    func rangeRowsMatchTheScalarComparison(count: Int) {
        var generator = Generator(state: UInt64(count))
        // Values on a small grid, so bounds fall on values; NaN (absent), infinities and signed zeros among them.
        let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0]
        let values = (0..<count).map { _ -> Double in
            let draw = generator.next()
            return draw % 7 == 0 ? specials[Int(draw / 7 % 5)] : Double(Int(draw % 21) - 10) / 2
        }
        let bounds: [(Double, Double)] = [(-.infinity, .infinity), (-2, 3), (0, 0), (2.5, 2.5), (4, -4), (-.infinity, -1),
                                          (1.0.nextUp, .infinity), (-0.0, 0)]
        for (low, high) in bounds {
            let bitmap = values.withUnsafeBufferPointer { SlotBitmap.rows(count: count, of: $0, from: low, through: high) }
            let expected = values.indices.filter { values[$0] >= low && values[$0] <= high }
            #expect(Self.rows(bitmap) == expected, "count \(count), \(low)...\(high)")
            #expect(bitmap.cardinality == expected.count)
        }
    }

    @Test func appendRemoveIntersectAndVisit() {
        var generator = Generator(state: 42)
        var bitmap = SlotBitmap(count: 0), reference: [Bool] = []
        for _ in 0..<300 {
            let set = generator.next() % 3 != 0
            bitmap.append(set)
            reference.append(set)
        }
        for _ in 0..<100 {
            let row = Int(generator.next() % 300)
            bitmap.remove(row)
            reference[row] = false
        }
        #expect(bitmap.count == 300)
        #expect(Self.rows(bitmap) == reference.indices.filter { reference[$0] })
        let other = SlotBitmap.rows(count: 300) { $0 % 5 != 0 }
        var both = bitmap
        both.formIntersection(other)
        #expect(Self.rows(both) == reference.indices.filter { reference[$0] && $0 % 5 != 0 })
        for row in 0..<300 { #expect(bitmap.contains(row) == reference[row]) }
    }
}
