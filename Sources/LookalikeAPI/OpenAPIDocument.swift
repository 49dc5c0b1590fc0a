/// The OpenAPI 3 description served at `/openapi.json`. A test checks that it lists exactly the routes the
/// router serves.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.0.3",
  "info": {"title": "Lookalike", "version": "1.0.0",
           "description": "Reverse image search: upload JPEG/PNG images, find visually similar stored images."},
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
      "k": {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}},
      "min_score": {"name": "min_score", "in": "query", "schema": {"type": "number", "minimum": -1, "maximum": 1}},
      "search_k": {"name": "search_k", "in": "query", "schema": {"type": "integer", "minimum": 1}},
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
  },
  "paths": {
    "/v1/images": {
      "post": {"summary": "Upload an image (multipart or raw body); the same id replaces it", "security": [{"bearer": []}],
               "parameters": [{"name": "id", "in": "query", "schema": {"type": "string"}},
                              {"name": "metadata", "in": "query", "schema": {"type": "string"}},
                              {"name": "on_duplicate", "in": "query", "schema": {"type": "string", "enum": ["allow", "reject"]}}],
               "requestBody": {"$ref": "#/components/requestBodies/Image"},
               "responses": {"201": {"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Upload"}}}},
                             "200": {"description": "replaced"}, "409": {"$ref": "#/components/responses/Problem"},
                             "400": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"},
                             "415": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"},
                             "503": {"$ref": "#/components/responses/Problem"}}},
      "get": {"summary": "List images by id with cursor pagination",
              "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                             {"name": "after", "in": "query", "schema": {"type": "string"}}],
              "responses": {"200": {"description": "a page; 'next' is the cursor for the following page"}}}
    },
    "/v1/images/batch": {
      "post": {"summary": "Upload many images (multipart 'image' parts; each file name is its id)", "security": [{"bearer": []}],
               "responses": {"200": {"description": "one status per file"}}}
    },
    "/v1/images/{id}": {
      "put": {"summary": "Upload or replace the image with this id (raw body)", "security": [{"bearer": []}],
              "parameters": [{"$ref": "#/components/parameters/id"}], "requestBody": {"$ref": "#/components/requestBodies/Image"},
              "responses": {"201": {"description": "stored"}, "200": {"description": "replaced"}}},
      "get": {"summary": "An image's record and metadata", "parameters": [{"$ref": "#/components/parameters/id"}],
              "responses": {"200": {"description": "the record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Image"}}}},
                            "404": {"$ref": "#/components/responses/Problem"}}},
      "delete": {"summary": "Delete an image", "security": [{"bearer": []}], "parameters": [{"$ref": "#/components/parameters/id"}],
                 "responses": {"204": {"description": "deleted"}, "404": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/images/{id}/thumbnail": {
      "get": {"summary": "JPEG thumbnail (longest side 256 by default)", "parameters": [{"$ref": "#/components/parameters/id"}],
              "responses": {"200": {"description": "image/jpeg"}, "404": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/images/{id}/similar": {
      "get": {"summary": "Images similar to a stored image, itself excluded",
              "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/k"},
                             {"$ref": "#/components/parameters/min_score"}, {"$ref": "#/components/parameters/search_k"},
                             {"$ref": "#/components/parameters/exact"}],
              "responses": {"200": {"$ref": "#/components/responses/Results"}, "404": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/search": {
      "post": {"summary": "Images similar to an uploaded image (not stored)",
               "parameters": [{"$ref": "#/components/parameters/k"}, {"$ref": "#/components/parameters/min_score"},
                              {"$ref": "#/components/parameters/search_k"}, {"$ref": "#/components/parameters/exact"}],
               "requestBody": {"$ref": "#/components/requestBodies/Image"},
               "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/search/vector": {
      "post": {"summary": "Images similar to a 1280-d feature vector",
               "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["vector"],
                 "properties": {"vector": {"type": "array", "items": {"type": "number"}}, "k": {"type": "integer"},
                                "min_score": {"type": "number"}, "search_k": {"type": "integer"}, "exact": {"type": "boolean"}}}}}},
               "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Problem"}}}
    },
    "/v1/stats": {"get": {"summary": "Collection and index statistics", "responses": {"200": {"description": "statistics"}}}},
    "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"summary": "Readiness: 503 until the index is loaded", "responses": {"200": {"description": "ready"}, "503": {"description": "loading"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text/plain; version=0.0.4"}}}},
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3"}}}}
  }
}
"""#
}
