/// One declared field's values, one entry per row, in the form its type compares fastest: dictionary codes
/// for keywords, doubles for numbers and instants, bytes for booleans.
final class AttributeColumn {
    let kind: AttributeSchema.Kind
    let path: [String]
    private var dictionary: [String: Int32] = [:]
    private var words: [String] = []
    /// Keyword code per row (-1: absent).
    private var codes: [Int32] = []
    /// Keyword codes per row for `keyword[]` (nil: absent).
    private var lists: [[Int32]?] = []
    /// Number or instant per row (NaN: absent).
    private var numbers: [Double] = []
    /// The stored text of each date-time (nil: absent), for the general path.
    private var dateTexts: [String?] = []
    /// 0 false, 1 true, 2 absent.
    private var flags: [UInt8] = []

    init(kind: AttributeSchema.Kind, path: [String]) {
        self.kind = kind
        self.path = path
    }

    func append(_ document: FilterValue?) {
        switch kind {
        case .keyword: codes.append(-1)
        case .keywords: lists.append(nil)
        case .number: numbers.append(.nan)
        case .datetime: numbers.append(.nan); dateTexts.append(nil)
        case .bool: flags.append(2)
        }
        set(row: rowCount - 1, document)
    }

    var rowCount: Int {
        switch kind {
        case .keyword: codes.count
        case .keywords: lists.count
        case .number, .datetime: numbers.count
        case .bool: flags.count
        }
    }

    /// Stores the row's value from its document (absent when the document has none of the declared type).
    func set(row: Int, _ document: FilterValue?) {
        let value = document?.value(at: path)
        switch kind {
        case .keyword:
            if case .string(let text) = value { codes[row] = code(for: text) } else { codes[row] = -1 }
        case .keywords:
            if case .array(let elements) = value {
                lists[row] = elements.compactMap { if case .string(let text) = $0 { code(for: text) } else { nil } }
            } else {
                lists[row] = nil
            }
        case .number:
            if case .number(let number) = value { numbers[row] = number } else { numbers[row] = .nan }
        case .datetime:
            if case .string(let text) = value, let instant = RFC3339.seconds(text) {
                numbers[row] = instant
                dateTexts[row] = text
            } else {
                numbers[row] = .nan
                dateTexts[row] = nil
            }
        case .bool:
            if case .bool(let flag) = value { flags[row] = flag ? 1 : 0 } else { flags[row] = 2 }
        }
    }

    private func code(for text: String) -> Int32 {
        if let code = dictionary[text] { return code }
        let code = Int32(words.count)
        dictionary[text] = code
        words.append(text)
        return code
    }

    /// The row's value as a document would hold it (the general path for conditions without a column form).
    func value(row: Int) -> FilterValue? {
        switch kind {
        case .keyword: codes[row] < 0 ? nil : .string(words[Int(codes[row])])
        case .keywords: lists[row].map { .array($0.map { .string(words[Int($0)]) }) }
        case .number: numbers[row].isNaN ? nil : .number(numbers[row])
        case .datetime: dateTexts[row].map(FilterValue.string)
        case .bool: flags[row] == 2 ? nil : .bool(flags[row] == 1)
        }
    }

    /// The rows (of the first `count`) whose value satisfies `condition`.
    func rows(matching condition: Filter.Condition, count: Int) -> SlotBitmap {
        switch condition {
        case .not(let inner):
            var bitmap = rows(matching: inner, count: count)
            bitmap.invert()
            return bitmap
        case .allOf(let conditions):
            var bitmap = SlotBitmap(count: count, filled: true)
            for inner in conditions { bitmap.formIntersection(rows(matching: inner, count: count)) }
            return bitmap
        default:
            if let bitmap = columnRows(matching: condition, count: count) { return bitmap }
            return SlotBitmap.rows(count: count) { condition.matches(value(row: $0)) }
        }
    }

    /// The column's own evaluation of the common conditions; nil for the rest.
    private func columnRows(matching condition: Filter.Condition, count: Int) -> SlotBitmap? {
        switch (kind, condition) {
        case (_, .exists(let wanted)):
            return SlotBitmap.rows(count: count) { (value(isPresentAt: $0)) == wanted }
        case (.keyword, .equals(let operand)) where operand.instant == nil:
            guard case .string(let text) = operand.value, let code = dictionary[text] else { return SlotBitmap(count: count) }
            return codes.withUnsafeBufferPointer { codes in SlotBitmap.rows(count: count) { codes[$0] == code } }
        case (.keyword, .oneOf(let operands)) where operands.allSatisfy({ $0.instant == nil }):
            var wanted = [Bool](repeating: false, count: words.count + 1)
            for operand in operands { if case .string(let text) = operand.value, let code = dictionary[text] { wanted[Int(code) + 1] = true } }
            return codes.withUnsafeBufferPointer { codes in wanted.withUnsafeBufferPointer { wanted in
                SlotBitmap.rows(count: count) { wanted[Int(codes[$0]) + 1] }
            } }
        case (.keywords, .equals(let operand)) where operand.instant == nil:
            guard case .string(let text) = operand.value else { return nil }
            guard let code = dictionary[text] else { return SlotBitmap(count: count) }
            return SlotBitmap.rows(count: count) { lists[$0]?.contains(code) ?? false }
        case (.number, .equals(let operand)):
            guard case .number(let target) = operand.value else { return SlotBitmap(count: count) }
            return numbers.withUnsafeBufferPointer { numbers in SlotBitmap.rows(count: count) { numbers[$0] == target } }
        case (.number, .range(let lower, let upper)), (.datetime, .range(let lower, let upper)):
            let wantedKind: Filter.Bound.Kind = kind == .number ? .number : .instant
            guard (lower?.kind ?? upper?.kind) == wantedKind else { return SlotBitmap(count: count) }
            let low = lower.map { $0.inclusive ? $0.value : $0.value.nextUp } ?? -.infinity
            let high = upper.map { $0.inclusive ? $0.value : $0.value.nextDown } ?? .infinity
            // NaN (absent) fails both comparisons.
            return numbers.withUnsafeBufferPointer { numbers in SlotBitmap.rows(count: count, of: numbers, from: low, through: high) }
        case (.datetime, .equals(let operand)):
            // Stored values are all date-times: only an operand that is one can equal them.
            guard let instant = operand.instant else { return SlotBitmap(count: count) }
            return numbers.withUnsafeBufferPointer { numbers in SlotBitmap.rows(count: count) { numbers[$0] == instant } }
        case (.bool, .equals(let operand)):
            guard case .bool(let flag) = operand.value else { return SlotBitmap(count: count) }
            let target: UInt8 = flag ? 1 : 0
            return flags.withUnsafeBufferPointer { flags in SlotBitmap.rows(count: count) { flags[$0] == target } }
        default:
            return nil
        }
    }

    private func value(isPresentAt row: Int) -> Bool {
        switch kind {
        case .keyword: codes[row] >= 0
        case .keywords: lists[row] != nil
        case .number, .datetime: !numbers[row].isNaN
        case .bool: flags[row] != 2
        }
    }
}
