import Foundation
import Imaging
import WebPage

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

    static func json(security: Security, dimension: Int) -> String {
        let text = components.replacingOccurrences(of: "DIMENSION", with: String(dimension))
        guard var document = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            preconditionFailure("the OpenAPI components are not a JSON object")
        }
        var shared = document["components"] as? [String: Any] ?? [:]
        shared["parameters"] = (shared["parameters"] as? [String: Any] ?? [:]).merging(QueryParameters.components) { _, declared in declared }
        shared["requestBodies"] = [
            "Image": imageBody(multipart: "ImageUpload", metadata: true), "PutImage": imageBody(multipart: "PutImage", metadata: true),
            "QueryImage": imageBody(multipart: "QueryImage", metadata: false),
            "ImageBatch": ["required": true, "content": ["multipart/form-data": multipartImages(schema: "ImageBatch", metadata: false)]],
        ]
        document["components"] = shared
        var paths: [String: [String: Any]] = [:]
        for route in LookalikeAPI.routes {
            let text = route.operation
                .replacingOccurrences(of: "WEB_ASSETS", with: "[" + WebPage.assets.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + "]")
            guard var operation = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                preconditionFailure("the OpenAPI operation of \(route.method) \(route.path) is not a JSON object")
            }
            QueryParameters.addSearchOptions(toBodyOf: &operation)
            if security.applies(to: route.access) {
                operation["security"] = [["bearer": [String]()]]
                var responses = operation["responses"] as? [String: Any] ?? [:]
                responses["401"] = ["$ref": "#/components/responses/Problem"]
                responses["403"] = ["$ref": "#/components/responses/Problem"]
                operation["responses"] = responses
            }
            // Any request line can be too long, and any header section too large; a write can find the disk full.
            var responses = operation["responses"] as? [String: Any] ?? [:]
            responses["414"] = ["$ref": "#/components/responses/Problem"]
            responses["431"] = ["$ref": "#/components/responses/Problem"]
            if route.access == .write || route.access == .admin, responses["507"] == nil {
                responses["507"] = ["$ref": "#/components/responses/Problem"]
            }
            operation["responses"] = responses
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

    /// The media types an image body may carry (the server recognises the format from the bytes).
    static let imageTypes = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff", "image/heic", "image/avif"]

    /// A request body holding one image: raw, as any image type, or multipart with `schema`'s parts.
    static func imageBody(multipart schema: String, metadata: Bool) -> [String: Any] {
        var content: [String: Any] = ["multipart/form-data": multipartImages(schema: schema, metadata: metadata)]
        for type in imageTypes { content[type] = ["schema": ["type": "string", "format": "binary", "minLength": 1]] }
        return ["required": true, "content": content]
    }

    static func multipartImages(schema: String, metadata: Bool) -> [String: Any] {
        var encoding: [String: Any] = ["image": ["contentType": imageTypes.joined(separator: ", ")]]
        if metadata { encoding["metadata"] = ["contentType": "application/json"] }
        return ["schema": ["$ref": "#/components/schemas/\(schema)"], "encoding": encoding]
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
      "id": {"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/Key"}},
      "job": {"name": "job", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 64}},
      "decision": {"name": "decision", "in": "path", "required": true, "description": "a decision's id", "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,17}$"}}
    },
    "schemas": {
      "Filter": {"type": "object", "description": "Metadata filter: {\"category\": \"shoes\", \"price\": {\"$lt\": 100}, \"tags\": {\"$in\": [\"a\", \"b\"]}, \"$or\": [{\"in_stock\": true}, {\"backorder\": {\"$exists\": true}}]}. A bare value means $eq; operators $eq $ne $in $nin $lt $lte $gt $gte $exists $all $not; combinators $and $or $not; keys in one object are and-ed; dotted keys reach nested fields; a stored array matches when any element does ($all: every listed value); numbers compare as numbers, RFC 3339 date-time strings as instants; comparing different types is false (so $ne and $nin are true). At most 64 KiB, 1,024 conditions, 1,024 values per list, 32 levels.",
                 "properties": {"$and": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Filter"}},
                                "$or": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Filter"}},
                                "$not": {"$ref": "#/components/schemas/Filter"}},
                 "patternProperties": {"^[^$.][^.]*(\\.[^.]+)*$": {"$ref": "#/components/schemas/Condition"}},
                 "additionalProperties": false},
      "Condition": {"description": "A bare value (equality; an object without operator keys too), or operators.",
                    "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "array"},
                              {"type": "object", "patternProperties": {"^(?!\\$)": {}}, "additionalProperties": false},
                              {"$ref": "#/components/schemas/Operators"}], "nullable": true},
      "Operators": {"type": "object", "minProperties": 1, "additionalProperties": false,
                    "properties": {"$eq": {}, "$ne": {}, "$in": {"$ref": "#/components/schemas/ValueList"},
                                   "$nin": {"$ref": "#/components/schemas/ValueList"}, "$all": {"$ref": "#/components/schemas/ValueList"},
                                   "$exists": {"type": "boolean"}, "$not": {"$ref": "#/components/schemas/Condition"},
                                   "$lt": {"$ref": "#/components/schemas/Bound"}, "$lte": {"$ref": "#/components/schemas/Bound"},
                                   "$gt": {"$ref": "#/components/schemas/Bound"}, "$gte": {"$ref": "#/components/schemas/Bound"}},
                    "not": {"anyOf": [{"required": ["$lt", "$lte"]}, {"required": ["$gt", "$gte"]}]},
                    "anyOf": [{"properties": {"$lt": {"type": "number"}, "$lte": {"type": "number"}, "$gt": {"type": "number"}, "$gte": {"type": "number"}}},
                              {"properties": {"$lt": {"type": "string"}, "$lte": {"type": "string"}, "$gt": {"type": "string"}, "$gte": {"type": "string"}}}]},
      "Bound": {"description": "A number or an RFC 3339 date-time; a condition's bounds are all numbers or all date-times.",
                "oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]},
      "ValueList": {"type": "array", "maxItems": 1024},
      "FieldPath": {"type": "string", "description": "A metadata key; dots reach nested fields.", "maxLength": 256,
                    "pattern": "^[^$.][^.]*(\\.[^.]+)*$"},
      "Key": {"type": "string", "description": "An image id: 1–256 code points, no control or format characters (the zero-width joiner excepted), no white space at either end.",
              "pattern": "^[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b\\u200c\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]([^\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b\\u200c\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]{0,254}[^\\s\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890\\u0891\\u08e2\\u180e\\u200b\\u200c\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb])?$"},
      "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                  "status": {"type": "integer"}, "detail": {"type": "string"}}},
      "Image": {"type": "object", "properties": {"id": {"type": "string"}, "format": {"type": "string", "enum": ["jpeg", "png", "webp", "gif", "heic", "avif", "bmp", "tiff"]},
                "width": {"type": "integer"}, "height": {"type": "integer"}, "bytes": {"type": "integer"},
                "sha256": {"type": "string"}, "metadata": {"type": "object"}, "created_at": {"type": "string"},
                "updated_at": {"type": "string"}}},
      "Examples": {"type": "array", "maxItems": 32, "description": "Stored image ids of this collection (strings) or feature vectors of the model's dimension (arrays of numbers).", "items": {"oneOf": [{"$ref": "#/components/schemas/Key"}, {"$ref": "#/components/schemas/Vector"}]}},
      "Vector": {"type": "array", "description": "A feature vector of the model's dimension, not all zeros.", "minItems": DIMENSION, "maxItems": DIMENSION,
                 "items": {"type": "number", "minimum": -1e15, "maximum": 1e15}, "not": {"items": {"enum": [0]}}},
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
                        "index": {"type": "object", "description": "The kind of index: forest (the default; full vectors in memory) or graph (compressed codes and a graph in memory, full vectors in a file; for millions of images).",
                                  "properties": {"kind": {"type": "string", "enum": ["forest", "graph"]}}, "additionalProperties": false},
                        "indexes": {"type": "object", "description": "Metadata fields held as typed in-memory columns for fast filters; uploads must give them values of their type.",
                                    "maxProperties": 64, "additionalProperties": false,
                                    "patternProperties": {"^[^$.][^.]*(\\.[^.]+)*$": {"type": "string", "enum": ["keyword", "number", "bool", "keyword[]", "datetime"]}}},
                        "recipe": {"$ref": "#/components/schemas/Recipe"}}, "additionalProperties": false},
      "Recipe": {"type": "object", "description": "How images become vectors with the model: the crop (center: the largest centred square; squash: the whole image squashed; pad: the whole image padded), uniform borders trimmed first, the mean with the mirror image, and each feature x turned into sign(x)|x|^feature_power.",
                 "properties": {"crop": {"type": "string", "enum": ["center", "squash", "pad"]}, "trim_borders": {"type": "boolean"},
                                "mirror_average": {"type": "boolean"}, "feature_power": {"type": "number", "minimum": 0.1, "maximum": 1}},
                 "additionalProperties": false},
      "CollectionPatch": {"type": "object", "required": ["recipe"], "properties": {"recipe": {"$ref": "#/components/schemas/Recipe"}}, "additionalProperties": false},
      "RecipeChange": {"type": "object", "properties": {"state": {"type": "string", "enum": ["running", "elsewhere", "switching", "done", "failed"]},
                       "from": {"$ref": "#/components/schemas/Recipe"}, "target": {"$ref": "#/components/schemas/Recipe"},
                       "total": {"type": "integer"}, "done": {"type": "integer"}, "resumed": {"type": "integer"}, "images_per_second": {"type": "number"},
                       "started_at": {"type": "string"}, "finished_at": {"type": "string"}, "error": {"type": "string"},
                       "failures": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "reason": {"type": "string"}}}}}},
      "NewDecision": {"type": "object", "required": ["ids"], "properties": {
                      "ids": {"type": "array", "minItems": 2, "maxItems": 1000, "uniqueItems": true, "items": {"$ref": "#/components/schemas/Key"}},
                      "decision": {"type": "string", "enum": ["not_duplicates"]}}, "additionalProperties": false},
      "Decision": {"type": "object", "properties": {"id": {"type": "string"}, "decision": {"type": "string", "enum": ["not_duplicates"]},
                   "ids": {"type": "array", "items": {"type": "string"}}, "created_at": {"type": "string"}}},
      "Collection": {"type": "object", "properties": {"name": {"type": "string"}, "images": {"type": "integer"},
                     "bytes": {"type": "integer"}, "index_bytes": {"type": "integer"}, "index_state": {"type": "string", "enum": ["loading", "exact", "building", "forest", "graph"]},
                     "index_kind": {"type": "string", "enum": ["forest", "graph"]},
                     "code_scheme": {"type": "string"}, "code_bits": {"type": "integer"}, "model": {"type": "string"},
                     "sequence": {"type": "integer"}, "created_at": {"type": "string"},
                     "indexes": {"type": "object", "additionalProperties": {"type": "string"}},
                     "recipe": {"$ref": "#/components/schemas/Recipe"}, "recipe_change": {"$ref": "#/components/schemas/RecipeChange"}}},
      "DuplicateGroups": {"type": "object", "properties": {"groups": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
                          "total_groups": {"type": "integer"}, "total_images": {"type": "integer"},
                          "threshold": {"type": "number"}, "next": {"type": "string"}}},
      "ImageUpload": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary", "minLength": 1},
                      "id": {"$ref": "#/components/schemas/Key"}, "metadata": {"type": "object", "description": "the image's metadata (a JSON object)"}}, "additionalProperties": false},
      "PutImage": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary", "minLength": 1},
                   "metadata": {"type": "object", "description": "the image's metadata (a JSON object)"}}, "additionalProperties": false},
      "BatchResults": {"type": "object", "properties": {"stored": {"type": "integer"}, "failed": {"type": "integer"},
                       "results": {"type": "array", "items": {"type": "object", "properties": {"file": {"type": "string"}, "id": {"type": "string", "nullable": true},
                         "status": {"type": "integer"}, "error": {"type": "string"}, "duplicates": {"type": "array"}}}}}},
      "FolderImport": {"type": "object", "required": ["folder"], "properties": {"folder": {"type": "string", "maxLength": 4096,
                       "description": "a folder under imports.root ('' for the root); every image file below it is imported under its path relative to the folder"}},
                       "additionalProperties": false},
      "ImportJob": {"type": "object", "properties": {"id": {"type": "string"}, "collection": {"type": "string"},
                    "state": {"type": "string", "enum": ["queued", "running", "completed", "cancelled"]}, "source": {"type": "string"},
                    "concurrency": {"type": "integer"}, "on_duplicate": {"type": "string", "enum": ["store", "skip"]},
                    "created_at": {"type": "string"}, "started_at": {"type": "string"}, "finished_at": {"type": "string"},
                    "total": {"type": "integer"}, "done": {"type": "integer"},
                    "counts": {"type": "object", "properties": {"pending": {"type": "integer"}, "storing": {"type": "integer"},
                               "stored": {"type": "integer"}, "duplicate": {"type": "integer"}, "refused": {"type": "integer"}}},
                    "items_per_second": {"type": "number"}, "eta_seconds": {"type": "number"}}},
      "ImportItems": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
                      "position": {"type": "integer"}, "id": {"type": "string"}, "url": {"type": "string"}, "path": {"type": "string"},
                      "state": {"type": "string", "enum": ["pending", "storing", "stored", "duplicate", "refused"]},
                      "reason": {"type": "string"}, "attempts": {"type": "integer"}}}}, "next": {"type": "string"}}},
      "QueryImage": {"type": "object", "required": ["image"], "properties": {"image": {"type": "string", "format": "binary", "minLength": 1}}, "additionalProperties": false},
      "ImageBatch": {"type": "object", "required": ["image"], "properties": {"image": {"type": "array", "minItems": 1, "items": {"type": "string", "format": "binary", "minLength": 1}}}, "additionalProperties": false}
    },
    "requestBodies": {},
    "responses": {
      "Problem": {"description": "error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "BatchFailed": {"description": "no file was stored: the files' common status (422 when they differ), each file's outcome listed; or a problem with the request itself",
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResults"}},
                                  "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
      "Results": {"description": "matches, best first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Results"}}}}
    }
  }
}
"""#
}
