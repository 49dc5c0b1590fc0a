import Foundation

/// The OpenAPI 3 description served at `/openapi.json`: the shared components below, and `paths` built from
/// the route table (each route's operation, with the collection parameter of collection routes), with the bearer
/// security — and its 401 — on exactly the routes that need a key in the running configuration.
enum OpenAPIDocument {
    /// Which routes need a key, and whether callers are rate-limited.
    struct Security {
        /// Keys are configured.
        var keys = false
        /// Reads need a key too (`server.protectReads`).
        var protectReads = false
        /// Some role has a rate limit (429 on every route but the open ones).
        var rateLimited = false

        /// No keys, no limits: every route is open.
        static let none = Security()

        func applies(to access: APIRoute.Access) -> Bool {
            switch access {
            case .open: false
            case .read: keys && protectReads
            case .write, .admin: keys
            }
        }
    }

    static func json(security: Security) -> String {
        guard var document = (try? JSONSerialization.jsonObject(with: Data(components.utf8))) as? [String: Any] else {
            preconditionFailure("the OpenAPI components are not a JSON object")
        }
        var paths: [String: [String: Any]] = [:]
        for route in LookalikeAPI.routes {
            guard var operation = (try? JSONSerialization.jsonObject(with: Data(route.operation.utf8))) as? [String: Any] else {
                preconditionFailure("the OpenAPI operation of \(route.method) \(route.path) is not a JSON object")
            }
            if security.applies(to: route.access) {
                operation["security"] = [["bearer": [String]()]]
                var responses = operation["responses"] as? [String: Any] ?? [:]
                responses["401"] = ["$ref": "#/components/responses/Problem"]
                responses["403"] = ["$ref": "#/components/responses/Problem"]
                operation["responses"] = responses
            }
            if security.rateLimited && route.access != .open {
                var responses = operation["responses"] as? [String: Any] ?? [:]
                responses["429"] = ["$ref": "#/components/responses/Problem"]
                operation["responses"] = responses
            }
            for (pattern, fixedCollection) in route.patterns {
                var entry = operation
                if route.scope == .collection {
                    if fixedCollection == nil {
                        entry["parameters"] = [["$ref": "#/components/parameters/collection"]] + (operation["parameters"] as? [Any] ?? [])
                    } else {
                        entry["operationId"] = (operation["operationId"] as? String ?? "") + "InDefault"
                        entry["summary"] = (operation["summary"] as? String ?? "") + " (the default collection)"
                    }
                }
                paths[pattern, default: [:]][route.method.rawValue.lowercased()] = entry
            }
        }
        document["paths"] = paths
        guard let data = try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]),
              let text = String(data: data, encoding: .utf8) else { preconditionFailure("the OpenAPI document does not serialise") }
        return text
    }

    static let components = #"""
{
  "openapi": "3.0.3",
  "info": {"title": "Lookalike", "version": "1.0.0",
           "description": "Reverse image search: upload JPEG/PNG images, find visually similar stored images."},
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "collection": {"name": "collection", "in": "path", "required": true,
                     "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"}},
      "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
      "k": {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}},
      "min_score": {"name": "min_score", "in": "query", "schema": {"type": "number", "minimum": -1, "maximum": 1}},
      "search_k": {"name": "search_k", "in": "query", "description": "Candidates the forest collects. A collection small enough to be scanned exactly has no forest: search_k is then a 400, and a 503 while a large collection's first forest is built.", "schema": {"type": "integer", "minimum": 1}},
      "exact": {"name": "exact", "in": "query", "schema": {"type": "boolean", "default": false}},
      "offset": {"name": "offset", "in": "query", "description": "Results skipped before the k returned, for paging; k + offset ≤ 1000.", "schema": {"type": "integer", "minimum": 0, "default": 0}},
      "group_by": {"name": "group_by", "in": "query", "description": "Group results by this metadata key (dotted path): k groups of at most group_size results, each group's best first, groups ordered by their best result; images without the key are left out. The answer then has 'groups' [{value, results}] instead of 'results'.", "schema": {"type": "string"}},
      "group_size": {"name": "group_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1}},
      "filter": {"name": "filter", "in": "query", "description": "A metadata filter (URL-encoded JSON, see the Filter schema), applied inside the candidate scan.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Filter"}}}}
    },
    "schemas": {
      "Filter": {"type": "object", "description": "Metadata filter: {\"category\": \"shoes\", \"price\": {\"$lt\": 100}, \"tags\": {\"$in\": [\"a\", \"b\"]}, \"$or\": [{\"in_stock\": true}, {\"backorder\": {\"$exists\": true}}]}. A bare value means $eq; operators $eq $ne $in $nin $lt $lte $gt $gte $exists $all $not; combinators $and $or $not; keys in one object are and-ed; dotted keys reach nested fields; a stored array matches when any element does ($all: every listed value); numbers compare as numbers, RFC 3339 date-time strings as instants; comparing different types is false (so $ne and $nin are true). At most 64 KiB, 1,024 conditions, 1,024 values per list, 32 levels.", "additionalProperties": true},
      "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                  "status": {"type": "integer"}, "detail": {"type": "string"}}},
      "Image": {"type": "object", "properties": {"id": {"type": "string"}, "format": {"type": "string", "enum": ["jpeg", "png", "webp", "gif", "heic", "avif", "bmp", "tiff"]},
                "width": {"type": "integer"}, "height": {"type": "integer"}, "bytes": {"type": "integer"},
                "sha256": {"type": "string"}, "metadata": {"type": "object"}, "created_at": {"type": "string"},
                "updated_at": {"type": "string"}}},
      "Examples": {"type": "array", "maxItems": 32, "description": "Stored image ids of this collection (strings) or 1280-d feature vectors (arrays of numbers).", "items": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "number"}}]}},
      "Upload": {"allOf": [{"$ref": "#/components/schemas/Image"}, {"type": "object", "properties": {"duplicates":
                 {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "score": {"type": "number"}}}}}}]},
      "Results": {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties":
                  {"id": {"type": "string"}, "score": {"type": "number"}, "metadata": {"type": "object"}}}},
                  "groups": {"type": "array", "items": {"type": "object", "properties": {"value": {}, "results": {"type": "array"}}}},
                  "took_ms": {"type": "number"}, "total": {"type": "integer"}}},
      "NewCollection": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
                        "code_scheme": {"type": "string", "enum": ["simhash", "itq"]},
                        "code_bits": {"type": "integer", "enum": [64, 128, 256]},
                        "indexes": {"type": "object", "description": "Metadata fields held as typed in-memory columns for fast filters; uploads must give them values of their type.",
                                    "additionalProperties": {"type": "string", "enum": ["keyword", "number", "bool", "keyword[]", "datetime"]}}}, "additionalProperties": false},
      "Collection": {"type": "object", "properties": {"name": {"type": "string"}, "images": {"type": "integer"},
                     "bytes": {"type": "integer"}, "index_bytes": {"type": "integer"}, "index_state": {"type": "string", "enum": ["loading", "exact", "forest"]},
                     "code_scheme": {"type": "string"}, "code_bits": {"type": "integer"}, "model": {"type": "string"},
                     "sequence": {"type": "integer"}, "created_at": {"type": "string"},
                     "indexes": {"type": "object", "additionalProperties": {"type": "string"}}}},
      "DuplicateGroups": {"type": "object", "properties": {"groups": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
                          "total_groups": {"type": "integer"}, "total_images": {"type": "integer"},
                          "threshold": {"type": "number"}, "next": {"type": "string"}}},
      "ImageUpload": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary"},
                      "id": {"type": "string"}, "metadata": {"type": "string", "description": "a JSON object"}}}
    },
    "requestBodies": {
      "Image": {"required": true, "content": {
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/ImageUpload"}},
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "image/webp": {"schema": {"type": "string", "format": "binary"}},
        "image/gif": {"schema": {"type": "string", "format": "binary"}},
        "image/bmp": {"schema": {"type": "string", "format": "binary"}},
        "image/tiff": {"schema": {"type": "string", "format": "binary"}},
        "image/heic": {"schema": {"type": "string", "format": "binary"}},
        "image/avif": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
    "responses": {
      "Problem": {"description": "error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Results": {"description": "matches, best first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Results"}}}}
    }
  }
}
"""#
}
