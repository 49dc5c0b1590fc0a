import Foundation

/// The OpenAPI 3 description served at `/openapi.json`: the shared components below, and `paths` built from
/// the route table (each route's operation, with the collection parameter of collection routes and the bearer
/// security of routes that need a key).
enum OpenAPIDocument {
    static let json: String = {
        guard var document = (try? JSONSerialization.jsonObject(with: Data(components.utf8))) as? [String: Any] else {
            preconditionFailure("the OpenAPI components are not a JSON object")
        }
        var paths: [String: [String: Any]] = [:]
        for route in LookalikeAPI.routes {
            guard var operation = (try? JSONSerialization.jsonObject(with: Data(route.operation.utf8))) as? [String: Any] else {
                preconditionFailure("the OpenAPI operation of \(route.method) \(route.path) is not a JSON object")
            }
            if route.access == .write { operation["security"] = [["bearer": [String]()]] }
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
    }()

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
      "exact": {"name": "exact", "in": "query", "schema": {"type": "boolean", "default": false}}
    },
    "schemas": {
      "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                  "status": {"type": "integer"}, "detail": {"type": "string"}}},
      "Image": {"type": "object", "properties": {"id": {"type": "string"}, "format": {"type": "string", "enum": ["jpeg", "png"]},
                "width": {"type": "integer"}, "height": {"type": "integer"}, "bytes": {"type": "integer"},
                "sha256": {"type": "string"}, "metadata": {"type": "object"}, "created_at": {"type": "string"},
                "updated_at": {"type": "string"}}},
      "Upload": {"allOf": [{"$ref": "#/components/schemas/Image"}, {"type": "object", "properties": {"duplicates":
                 {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "score": {"type": "number"}}}}}}]},
      "Results": {"type": "object", "properties": {"results": {"type": "array", "items": {"type": "object", "properties":
                  {"id": {"type": "string"}, "score": {"type": "number"}, "metadata": {"type": "object"}}}},
                  "took_ms": {"type": "number"}, "total": {"type": "integer"}}},
      "NewCollection": {"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"},
                        "code_scheme": {"type": "string", "enum": ["simhash", "itq"]},
                        "code_bits": {"type": "integer", "enum": [64, 128, 256]}}, "additionalProperties": false},
      "Collection": {"type": "object", "properties": {"name": {"type": "string"}, "images": {"type": "integer"},
                     "bytes": {"type": "integer"}, "index_bytes": {"type": "integer"}, "index_state": {"type": "string", "enum": ["loading", "exact", "forest"]},
                     "code_scheme": {"type": "string"}, "code_bits": {"type": "integer"}, "model": {"type": "string"},
                     "sequence": {"type": "integer"}, "created_at": {"type": "string"}}},
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
