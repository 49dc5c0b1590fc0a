import NIOConcurrencyHelpers
import Dispatch
import Foundation
import HTTPCore
import HTTPServer
import Logging
import Lookalike
import MetadataFilter
import Imaging

/// The endpoints' handlers: parse the request, call the service, write the response.
extension LookalikeAPI {
    // MARK: - Handlers

    /// The image bytes, id and metadata of an upload: multipart (`image`, `id`, `metadata` parts, as many as
    /// `allowedParts` allows, each once) or a raw body with `?id=` and `?metadata=`. A part the route does not
    /// take is a 400, as an unknown JSON member is: it must not be dropped unnoticed.
    func uploadParts(_ request: HTTPRequest, allowedParts: Set<String> = ["image", "id", "metadata"]) throws
        -> (bytes: [UInt8], key: String?, metadata: String?)
    {
        if let contentType = request.header("Content-Type"), contentType.lowercased().hasPrefix("multipart/") {
            guard let boundary = MultipartParser.boundary(contentType: contentType) else {
                throw APIError(status: .badRequest, detail: "multipart Content-Type without a valid boundary")
            }
            let parts = try multipart.parse(request.body, boundary: boundary)
            var seen: Set<String> = []
            for part in parts {
                guard allowedParts.contains(part.name) else {
                    throw APIError(status: .badRequest, detail: "unknown multipart part '\(part.name.prefix(64))'; expected \(allowedParts.sorted().joined(separator: ", "))")
                }
                guard seen.insert(part.name).inserted else {
                    throw APIError(status: .badRequest, detail: "multipart part '\(part.name)' appears more than once")
                }
            }
            guard let image = parts.first(where: { $0.name == "image" }) else {
                throw APIError(status: .badRequest, detail: "multipart body has no 'image' part")
            }
            let key = try parts.first { $0.name == "id" }.map { try Self.utf8($0.body, field: "id") }
            let metadata = try parts.first { $0.name == "metadata" }.map { try Self.utf8($0.body, field: "metadata") }
            return (image.body, key ?? QueryParameters.uploadID.string(in: request.query),
                    metadata ?? QueryParameters.metadata.string(in: request.query))
        }
        return (request.body, QueryParameters.uploadID.string(in: request.query), QueryParameters.metadata.string(in: request.query))
    }

    static func utf8(_ bytes: [UInt8], field: String) throws -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError(status: .badRequest, detail: "'\(field)' is not valid UTF-8")
        }
        return text
    }

    func upload(_ request: HTTPRequest, key pathKey: String?, collection: String) throws -> HTTPResponse {
        // With the id in the path, a body may not name another.
        let parts = try uploadParts(request, allowedParts: pathKey == nil ? ["image", "id", "metadata"] : ["image", "metadata"])
        guard !parts.bytes.isEmpty else { throw APIError(status: .badRequest, detail: "the request has no image bytes") }
        if pathKey != nil, QueryParameters.uploadID.string(in: request.query) != nil {
            throw APIError(status: .badRequest, detail: "the id is in the path; '?id=' is not taken here")
        }
        let onDuplicate = try QueryParameters.onDuplicate.choice(in: request.query)
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try service.ingest(
            bytes: parts.bytes, key: pathKey ?? parts.key, metadata: parts.metadata, rejectDuplicates: onDuplicate == "reject",
            collection: collection)
        metrics.recordInference(seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        let body = UploadBody(record: result.record, duplicates: result.duplicates.map(DuplicateBody.init))
        // The routes from before collections answer in their own form.
        let prefix = request.path.hasPrefix("/v1/collections/") ? "/v1/collections/\(collection)/images/" : "/v1/images/"
        let location = prefix + Self.pathEscape(result.record.key)
        return try JSONResponse.encoded(result.replaced ? .ok : .created, body, headers: [("Location", location)])
    }

    func batch(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        guard let contentType = request.header("Content-Type"),
              let boundary = MultipartParser.boundary(contentType: contentType) else {
            throw APIError(status: .unsupportedMediaType, detail: "a batch upload must be multipart/form-data")
        }
        let images = try multipart.parse(request.body, boundary: boundary)
        if let other = images.first(where: { $0.name != "image" }) {
            throw APIError(status: .badRequest, detail: "unknown multipart part '\(other.name.prefix(64))'; a batch holds 'image' parts")
        }
        guard !images.isEmpty else { throw APIError(status: .badRequest, detail: "the batch has no 'image' parts") }
        if let empty = images.firstIndex(where: { $0.body.isEmpty }) {
            throw APIError(status: .badRequest, detail: "image part \(empty + 1) of the batch is empty")
        }
        // A missing collection is the batch's answer, not each file's.
        try service.requireCollection(collection)
        let service = self.service
        let collected = BatchResults(count: images.count)
        // One file per worker thread at a time, so a batch keeps every inference worker busy without
        // overflowing the queue; a bad file only fails its own entry.
        let lanes = max(1, min(images.count, service.inferenceWorkers))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: images.count, by: lanes) {
                let part = images[index]
                let key = part.filename.map { String($0.split(separator: "/").last ?? Substring($0)) }
                    .flatMap { $0.isEmpty ? nil : $0 }
                do {
                    let result = try service.ingest(bytes: part.body, key: key, collection: collection)
                    collected.set(index, BatchOutcome(file: part.filename ?? "", id: result.record.key,
                                                      status: result.replaced ? .ok : .created, error: nil,
                                                      duplicates: result.duplicates))
                } catch {
                    let problem = ErrorMapping.problem(for: error)
                    collected.set(index, BatchOutcome(file: part.filename ?? "", id: key, status: problem.status,
                                                      error: problem.detail, duplicates: []))
                }
            }
        }
        let outcomes = collected.values
        let results = outcomes.map { outcome in
            BatchEntryBody(file: outcome.file, id: outcome.id, status: outcome.status.code, error: outcome.error,
                           duplicates: outcome.error == nil ? outcome.duplicates.map(DuplicateBody.init) : nil)
        }
        let failed = outcomes.filter { !$0.status.isSuccess }.count
        // A batch that stored nothing failed: its status is the files' common one (422 when they differ); the
        // body still lists each file.
        let statuses = Set(outcomes.map(\.status.code))
        let status: HTTPStatus = failed < outcomes.count ? .ok
            : statuses.count == 1 ? outcomes[0].status : .unprocessableContent
        return try JSONResponse.encoded(status, BatchBody(results: results, stored: outcomes.count - failed, failed: failed))
    }

    func key(_ request: HTTPRequest) throws -> String {
        guard let key = request.parameters["id"], !key.isEmpty else { throw APIError(status: .badRequest, detail: "missing id") }
        return key
    }

    func get(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let key = try key(request)
        guard let record = try service.record(key: key, collection: collection) else { throw LookalikeError.notFound(key) }
        return try JSONResponse.encoded(.ok, ImageBody(record: record))
    }

    func delete(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let key = try key(request)
        guard try service.delete(key: key, collection: collection) else { throw LookalikeError.notFound(key) }
        return HTTPResponse(status: .noContent)
    }

    func thumbnail(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let key = try key(request)
        guard let jpeg = try service.thumbnail(key: key, collection: collection) else { throw LookalikeError.notFound(key) }
        return HTTPResponse(status: .ok, headers: [("Content-Type", "image/jpeg"), ("Cache-Control", "max-age=60")], body: jpeg)
    }

    func list(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let query = request.query
        let limit = try QueryParameters.limit.definiteInteger(in: query)
        let records = try service.list(limit: limit, after: QueryParameters.after.string(in: query),
                                       filter: try QueryParameters.filter.filter(in: query), collection: collection)
        return try JSONResponse.encoded(.ok, ImageListBody(
            images: records.map(ImageBody.init), next: records.count == limit ? records.last?.key : nil))
    }

    static func searchOptions(_ query: [String: String]) throws -> SearchOptions {
        let parameters = QueryParameters.self
        return SearchOptions(
            k: try parameters.k.definiteInteger(in: query), minScore: try parameters.minScore.number(in: query).map(Float.init),
            searchK: try parameters.searchK.integer(in: query), exact: try parameters.exact.boolean(in: query),
            filter: try parameters.filter.filter(in: query), offset: try parameters.offset.definiteInteger(in: query),
            groupBy: parameters.groupBy.string(in: query), groupSize: try parameters.groupSize.definiteInteger(in: query),
            expansion: try parameters.expand.definiteInteger(in: query))
    }

    static func filter(_ text: String?) throws -> Filter? {
        guard let text else { return nil }
        do {
            // Some clients serialise a JSON-valued query parameter twice: a JSON string holding the object.
            if case .string(let inner)? = try? FilterValue.parse(Array(text.utf8)), inner.hasPrefix("{") {
                return try Filter.parse(inner)
            }
            return try Filter.parse(text)
        } catch {
            throw APIError(status: .badRequest, detail: error.description)
        }
    }

    /// `PATCH /images/{id}`: a JSON merge patch of the metadata, no inference.
    func patchMetadata(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let key = try key(request)
        let record = try service.patchMetadata(key: key, patch: String(decoding: request.body, as: UTF8.self), collection: collection)
        return try JSONResponse.encoded(.ok, ImageBody(record: record))
    }

    func similar(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let matches = try service.similar(key: try key(request), options: try Self.searchOptions(request.query), collection: collection)
        return try Self.results(matches, started: started)
    }

    func search(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let options = try Self.searchOptions(request.query)
        let region = try QueryParameters.box.string(in: request.query).map { text throws(ImagingError) in try ImageRegion(parsing: text) }
        let bytes = try uploadParts(request, allowedParts: ["image"]).bytes
        guard !bytes.isEmpty else { throw APIError(status: .badRequest, detail: "the request has no image bytes") }
        return try Self.results(try service.search(bytes: bytes, region: region, options: options, collection: collection), started: started)
    }

    func searchVector(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let body = try QueryBody(request.body, members: QueryBody.optionMembers.union(["vector"]),
                                 example: #"{"vector": [1280 numbers], "k": 10, "filter": {...}}"#)
        guard let vector = try body.vector("vector") else { throw APIError(status: .badRequest, detail: "'vector' is required") }
        let options = try body.options(over: request.query)
        return try Self.results(try service.search(vector: vector, options: options, collection: collection), started: started)
    }

    /// `POST /recommend`: more like the positive examples, less like the negative ones.
    func recommend(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let body = try QueryBody(request.body, members: QueryBody.optionMembers.union(["positive", "negative", "negative_weight"]),
                                 example: #"{"positive": ["id", [1280 numbers]], "negative": [...], "k": 10}"#)
        guard let positive = try body.examples("positive") else {
            throw APIError(status: .badRequest, detail: "'positive' is required: an array of image ids and vectors")
        }
        let weight = try body.number("negative_weight")
        if let weight, !(0...2).contains(weight) {  // the decimal sent, before rounding to a Float
            throw APIError(status: .badRequest, detail: "negative_weight must be a number in 0...2")
        }
        let recommendation = Recommendation(
            positive: positive, negative: try body.examples("negative") ?? [],
            negativeWeight: weight.map(Float.init) ?? Recommendation.defaultNegativeWeight)
        let options = try body.options(over: request.query)
        return try Self.results(try service.recommend(recommendation, options: options, collection: collection), started: started)
    }

    static func results(_ matches: [Match], started: UInt64) throws -> HTTPResponse {
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        if matches.first?.group != nil {
            // Grouped: consecutive matches of one group form it.
            var groups: [GroupedResultsBody.Group] = []
            var start = 0
            while start < matches.count {
                var end = start + 1
                while end < matches.count && matches[end].group == matches[start].group { end += 1 }
                groups.append(.init(value: RawJSON(text: matches[start].group ?? "null"),
                                    results: matches[start..<end].map(MatchBody.init)))
                start = end
            }
            return try JSONResponse.encoded(.ok, GroupedResultsBody(
                groups: groups, total: groups.count, tookMilliseconds: (milliseconds * 1000).rounded() / 1000))
        }
        return try JSONResponse.encoded(.ok, ResultsBody(
            results: matches.map(MatchBody.init), total: matches.count, tookMilliseconds: (milliseconds * 1000).rounded() / 1000))
    }

    func stats(collection: String) throws -> HTTPResponse {
        let stats = try service.statistics(collection: collection)
        return try JSONResponse.encoded(.ok, StatsBody(
            images: stats.images, indexed: stats.indexed, tombstones: stats.tombstones, trees: stats.trees,
            indexBytes: stats.indexBytes, indexRebuilds: stats.rebuilds, model: stats.model, codeBits: stats.codeBits,
            codeScheme: stats.codeScheme, inferenceQueue: stats.queue.queued, imagesEmbedded: stats.queue.processedImages,
            ready: service.isReady, collection: collection, sequence: stats.sequence))
    }

    func backup() throws -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let (path, bytes) = try service.backupToDirectory()
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        logger.notice("backup", metadata: ["path": "\(path)", "bytes": "\(bytes)"])
        return try JSONResponse.encoded(.created, BackupBody(path: path, bytes: bytes, tookMilliseconds: milliseconds.rounded()))
    }

    func metricsResponse() throws -> HTTPResponse {
        let totals = service.totals()
        let queue = service.inferenceStatistics
        let stored = totals.images.map { [("lookalike_images_stored", "Images in the database.", Double($0))] } ?? []
        let text = metrics.render(gauges: stored + [
            ("lookalike_collections", "Collections.", Double(totals.collections)),
            ("lookalike_index_size", "Vectors in the search indexes.", Double(totals.indexed)),
            ("lookalike_index_bytes", "Memory held by the indexes.", Double(totals.indexBytes)),
            ("lookalike_inference_queue_depth", "Images waiting for an inference worker.", Double(queue.queued)),
            ("lookalike_images_embedded_total", "Images embedded since start.", Double(queue.processedImages)),
            ("lookalike_inference_batches_total", "Forward passes run since start.", Double(queue.batches)),
            ("lookalike_inference_compute_seconds_total", "Seconds inference workers spent in forward passes.",
             queue.computeSeconds),
            ("lookalike_follow_lag_seconds", "Seconds since this node last caught up with the shared database (0 for its own).",
             service.followLagSeconds),
        ], counters: [
            ("lookalike_log_lines_dropped_total", "Log lines dropped because the log's buffer was full.", "", [("", Double(droppedLogLines()))]),
            ("lookalike_rate_limited_total", "Requests refused with 429, by the caller's role.", "role",
             rateLimiter.rejections.map { ($0.role, Double($0.count)) }),
        ])
        return HTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4", body: text)
    }

    // MARK: - Parameters

    static func integer(_ text: String?, name: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text) else { throw APIError(status: .badRequest, detail: "\(name) must be an integer, got '\(text.prefix(40))'") }
        return value
    }

    static func boolean(_ text: String?, name: String) throws -> Bool? {
        guard let text else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw APIError(status: .badRequest, detail: "\(name) must be true or false")
        }
    }

    static func pathEscape(_ key: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key
    }
}

/// Batch outcomes written from several threads.
final class BatchResults: Sendable {
    private let storage: NIOLockedValueBox<[BatchOutcome?]>
    init(count: Int) { storage = NIOLockedValueBox(Array(repeating: nil, count: count)) }
    func set(_ index: Int, _ outcome: BatchOutcome) { storage.withLockedValue { $0[index] = outcome } }
    var values: [BatchOutcome] { storage.withLockedValue { $0.compactMap { $0 } } }
}

/// One file's result in a batch upload.
struct BatchOutcome: Sendable {
    let file: String
    let id: String?
    let status: HTTPStatus
    let error: String?
    let duplicates: [Match]
}

/// A weak reference to the API for its routes.
///
/// `@unchecked Sendable` is safe because `api` is written once, in the API's initializer, before the server can
/// deliver any request; afterwards it is only read.
final class WeakAPIBox: @unchecked Sendable {
    weak var api: LookalikeAPI?
}

