/// The metadata of every row of an index (rows are index slots, appended in order): each document, and a
/// column per declared field. ``rows(matching:count:)`` turns a filter into a bitmap over rows, with columns
/// where the filter reads a declared field and a pass over the documents elsewhere.
///
/// Not thread-safe: the owning index reads it under its read lock and changes it under its write lock.
public final class AttributeTable {
    public let schema: AttributeSchema
    private var documents: [FilterValue?] = []
    private var columns: [String: AttributeColumn] = [:]

    public init(schema: AttributeSchema) {
        self.schema = schema
        for (path, kind) in schema.fields {
            columns[path] = AttributeColumn(kind: kind, path: FieldPath.components(path))
        }
    }

    public var rowCount: Int { documents.count }

    /// Adds the next row (nil: no metadata).
    public func append(_ document: FilterValue?) {
        // Documents without members hold nothing to match; storing nil keeps them free.
        let kept: FilterValue? = document == .object([:]) ? nil : document
        documents.append(kept)
        for column in columns.values { column.append(kept) }
    }

    /// Replaces a row's metadata.
    public func replace(row: Int, with document: FilterValue?) {
        let kept: FilterValue? = document == .object([:]) ? nil : document
        documents[row] = kept
        for column in columns.values { column.set(row: row, kept) }
    }

    public func document(row: Int) -> FilterValue? { documents[row] }

    /// The rows among the first `count` that `filter` admits.
    public func rows(matching filter: Filter, count: Int) -> SlotBitmap {
        precondition(count <= documents.count, "the table has \(documents.count) rows, not \(count)")
        switch filter {
        case .all(let filters):
            var bitmap = SlotBitmap(count: count, filled: true)
            for inner in filters { bitmap.formIntersection(rows(matching: inner, count: count)) }
            return bitmap
        case .any(let filters):
            var bitmap = SlotBitmap(count: count)
            for inner in filters { bitmap.formUnion(rows(matching: inner, count: count)) }
            return bitmap
        case .not(let inner):
            var bitmap = rows(matching: inner, count: count)
            bitmap.invert()
            return bitmap
        case .condition(let path, let condition):
            if let column = columns[path.joined(separator: ".")] { return column.rows(matching: condition, count: count) }
            return documents.withUnsafeBufferPointer { documents in
                SlotBitmap.rows(count: count) { condition.matches(documents[$0]?.value(at: path)) }
            }
        }
    }
}
