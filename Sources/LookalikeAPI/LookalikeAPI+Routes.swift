import HTTPServer
import Lookalike
import WebPage

/// The route table: every route once, with who may call it and its OpenAPI operation.
extension LookalikeAPI {
    static let routes: [APIRoute] = [
        // Collections.
        APIRoute(.post, "/v1/collections", scope: .service, access: .admin, operation: #"""
            {"summary": "Create a collection", "operationId": "createCollection",
             "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewCollection"}}}},
             "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Collection"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"},
                           "413": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, _ in try api.createCollection(request) },
        APIRoute(.get, "/v1/collections", scope: .service, access: .read, operation: #"""
            {"summary": "Every collection with its size, index state, code scheme and model", "operationId": "listCollections",
             "responses": {"200": {"description": "the collections", "content": {"application/json": {"schema": {"type": "object",
               "properties": {"collections": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}}}}}}}}}
            """#) { api, _, _ in try api.listCollections() },
        APIRoute(.get, "/v1/collections/{collection}", scope: .service, access: .read, operation: #"""
            {"summary": "One collection", "operationId": "getCollection", "parameters": [{"$ref": "#/components/parameters/collection"}],
             "responses": {"200": {"description": "the collection", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Collection"}}}},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, _ in try api.describeCollection(request.parameters["collection"] ?? "") },
        APIRoute(.patch, "/v1/collections/{collection}", scope: .service, access: .admin, operation: #"""
            {"summary": "Change a collection's recipe: its vectors are recomputed in the background from the stored originals while the old ones keep serving, then it switches at once",
             "operationId": "patchCollection", "parameters": [{"$ref": "#/components/parameters/collection"}],
             "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CollectionPatch"}}}},
             "responses": {"202": {"description": "re-embedding started; recipe_change follows it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Collection"}}}},
                           "200": {"description": "the recipe is already the collection's", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Collection"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                           "409": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, _ in try api.patchCollection(request, name: request.parameters["collection"] ?? "") },
        APIRoute(.delete, "/v1/collections/{collection}", scope: .service, access: .admin, operation: #"""
            {"summary": "Delete a collection and everything stored in it (the default collection is emptied)", "operationId": "deleteCollection",
             "parameters": [{"$ref": "#/components/parameters/collection"}],
             "responses": {"204": {"description": "deleted"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, _ in try api.deleteCollection(request.parameters["collection"] ?? "") },

        // Images, in a collection.
        APIRoute(.post, "/images", scope: .collection, access: .write, operation: #"""
            {"summary": "Upload an image (multipart or raw body); the same id replaces it", "operationId": "uploadImage",
             "parameters": [{"$ref": "#/components/parameters/upload_id"}, {"$ref": "#/components/parameters/metadata"},
                            {"$ref": "#/components/parameters/on_duplicate"}],
             "requestBody": {"$ref": "#/components/requestBodies/Image"},
             "responses": {"201": {"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Upload"}}}},
                           "200": {"description": "replaced"}, "409": {"$ref": "#/components/responses/Problem"},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                           "413": {"$ref": "#/components/responses/Problem"}, "415": {"$ref": "#/components/responses/Problem"},
                           "422": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.upload(request, key: nil, collection: collection) },
        APIRoute(.get, "/images", scope: .collection, access: .read, operation: #"""
            {"summary": "List images by id with cursor pagination", "operationId": "listImages",
             "parameters": [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/after"},
                            {"$ref": "#/components/parameters/filter"}],
             "responses": {"200": {"description": "a page; 'next' is the cursor for the following page"},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.list(request, collection: collection) },
        APIRoute(.post, "/images/batch", scope: .collection, access: .write, operation: #"""
            {"summary": "Upload many images (multipart 'image' parts; each file name is its id)", "operationId": "uploadImages",
             "requestBody": {"$ref": "#/components/requestBodies/ImageBatch"},
             "responses": {"200": {"description": "one status per file (some stored)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResults"}}}},
                           "400": {"$ref": "#/components/responses/BatchFailed"}, "404": {"$ref": "#/components/responses/Problem"},
                           "409": {"$ref": "#/components/responses/BatchFailed"}, "413": {"$ref": "#/components/responses/BatchFailed"},
                           "415": {"$ref": "#/components/responses/BatchFailed"}, "422": {"$ref": "#/components/responses/BatchFailed"},
                           "503": {"$ref": "#/components/responses/BatchFailed"}, "507": {"$ref": "#/components/responses/BatchFailed"}}}
            """#) { api, request, collection in try api.batch(request, collection: collection) },
        APIRoute(.put, "/images/{id}", scope: .collection, access: .write, operation: #"""
            {"summary": "Upload or replace the image with this id (raw body)", "operationId": "putImage",
             "parameters": [{"$ref": "#/components/parameters/id"}], "requestBody": {"$ref": "#/components/requestBodies/PutImage"},
             "responses": {"201": {"description": "stored"}, "200": {"description": "replaced"},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                           "413": {"$ref": "#/components/responses/Problem"}, "415": {"$ref": "#/components/responses/Problem"},
                           "422": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.upload(request, key: request.parameters["id"], collection: collection) },
        APIRoute(.get, "/images/{id}", scope: .collection, access: .read, operation: #"""
            {"summary": "An image's record and metadata", "operationId": "getImage", "parameters": [{"$ref": "#/components/parameters/id"}],
             "responses": {"200": {"description": "the record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Image"}}}},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.get(request, collection: collection) },
        APIRoute(.patch, "/images/{id}", scope: .collection, access: .write, operation: #"""
            {"summary": "Change an image's metadata with a JSON merge patch (RFC 7396), without re-uploading it", "operationId": "patchImage",
             "parameters": [{"$ref": "#/components/parameters/id"}],
             "requestBody": {"required": true, "content": {"application/merge-patch+json": {"schema": {"type": "object"}}}},
             "responses": {"200": {"description": "the updated record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Image"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.patchMetadata(request, collection: collection) },
        APIRoute(.delete, "/images/{id}", scope: .collection, access: .write, operation: #"""
            {"summary": "Delete an image", "operationId": "deleteImage", "parameters": [{"$ref": "#/components/parameters/id"}],
             "responses": {"204": {"description": "deleted"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.delete(request, collection: collection) },
        APIRoute(.get, "/images/{id}/thumbnail", scope: .collection, access: .read, operation: #"""
            {"summary": "JPEG thumbnail (longest side 256 by default)", "operationId": "getThumbnail",
             "parameters": [{"$ref": "#/components/parameters/id"}],
             "responses": {"200": {"description": "image/jpeg"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.thumbnail(request, collection: collection) },
        APIRoute(.get, "/images/{id}/similar", scope: .collection, access: .read, operation: #"""
            {"summary": "Images similar to a stored image, itself excluded", "operationId": "similarImages",
             "parameters": [{"$ref": "#/components/parameters/id"}, {"$ref": "#/components/parameters/k"},
                            {"$ref": "#/components/parameters/min_score"}, {"$ref": "#/components/parameters/search_k"},
                            {"$ref": "#/components/parameters/exact"}, {"$ref": "#/components/parameters/filter"},
                            {"$ref": "#/components/parameters/offset"}, {"$ref": "#/components/parameters/group_by"},
                            {"$ref": "#/components/parameters/group_size"}, {"$ref": "#/components/parameters/expand"}],
             "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Problem"},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.similar(request, collection: collection) },
        APIRoute(.post, "/search", scope: .collection, access: .read, operation: #"""
            {"summary": "Images similar to an uploaded image (not stored)", "operationId": "searchByImage",
             "parameters": [{"$ref": "#/components/parameters/k"}, {"$ref": "#/components/parameters/min_score"},
                            {"$ref": "#/components/parameters/search_k"}, {"$ref": "#/components/parameters/exact"},
                            {"$ref": "#/components/parameters/filter"},
                            {"$ref": "#/components/parameters/offset"}, {"$ref": "#/components/parameters/group_by"},
                            {"$ref": "#/components/parameters/group_size"}, {"$ref": "#/components/parameters/expand"},
                            {"$ref": "#/components/parameters/box"}],
             "requestBody": {"$ref": "#/components/requestBodies/QueryImage"},
             "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Problem"},
                           "404": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"},
                           "415": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"},
                           "503": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.search(request, collection: collection) },
        APIRoute(.post, "/search/vector", scope: .collection, access: .read, operation: #"""
            {"summary": "Images similar to a 1280-d feature vector", "operationId": "searchByVector",
             "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["vector"],
               "properties": {"vector": {"$ref": "#/components/schemas/Vector"}}, "x-search-options": true,
               "additionalProperties": false}}}},
             "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Problem"},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.searchVector(request, collection: collection) },
        APIRoute(.post, "/recommend", scope: .collection, access: .read, operation: #"""
            {"summary": "Images like the positive examples and unlike the negative ones (average-vector strategy: mean(positive) − negative_weight · mean(negative), re-normalised); stored examples are left out of the results", "operationId": "recommend",
             "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["positive"],
               "properties": {"positive": {"allOf": [{"$ref": "#/components/schemas/Examples"}], "minItems": 1}, "negative": {"$ref": "#/components/schemas/Examples"},
                              "negative_weight": {"type": "number", "minimum": 0, "maximum": 2, "default": 0.5}},
               "x-search-options": true, "additionalProperties": false}}}},
             "responses": {"200": {"$ref": "#/components/responses/Results"}, "400": {"$ref": "#/components/responses/Problem"},
                           "404": {"$ref": "#/components/responses/Problem"},
                           "422": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.recommend(request, collection: collection) },
        APIRoute(.get, "/duplicates", scope: .collection, access: .read, operation: #"""
            {"summary": "Groups of near-duplicate images, paginated by the first id of a group", "operationId": "duplicateGroups",
             "parameters": [{"$ref": "#/components/parameters/threshold"}, {"$ref": "#/components/parameters/neighbours"},
                            {"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/after"},
                            {"$ref": "#/components/parameters/filter"}],
             "responses": {"200": {"description": "groups of ids; 'next' is the cursor for the following page", "content":
               {"application/json": {"schema": {"$ref": "#/components/schemas/DuplicateGroups"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.duplicates(request, collection: collection) },
        APIRoute(.post, "/duplicates/decisions", scope: .collection, access: .write, operation: #"""
            {"summary": "Record that these images are not duplicates of one another: groups and upload verdicts leave them apart from then on, on every node and after restarts",
             "operationId": "recordDecision",
             "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewDecision"}}}},
             "responses": {"201": {"description": "recorded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                           "413": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.recordDecision(request, collection: collection) },
        APIRoute(.get, "/duplicates/decisions", scope: .collection, access: .read, operation: #"""
            {"summary": "The collection's 'not duplicates' decisions, oldest first", "operationId": "listDecisions",
             "responses": {"200": {"description": "the decisions", "content": {"application/json": {"schema": {"type": "object",
               "properties": {"decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}}}}}}},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, _, collection in try api.listDecisions(collection: collection) },
        APIRoute(.delete, "/duplicates/decisions/{decision}", scope: .collection, access: .write, operation: #"""
            {"summary": "Undo a 'not duplicates' decision: its images may be grouped again", "operationId": "undoDecision",
             "parameters": [{"$ref": "#/components/parameters/decision"}],
             "responses": {"204": {"description": "undone"}, "400": {"$ref": "#/components/responses/Problem"},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.undoDecision(request, collection: collection) },
        // Import jobs, in a collection.
        APIRoute(.post, "/imports", scope: .collection, access: .write, operation: #"""
            {"summary": "Start an import job: a manifest (JSON lines or CSV: id, url or path under imports.root, metadata) or a folder under imports.root; it runs in the background, resumes after a restart, and reports each item's outcome",
             "operationId": "createImport",
             "parameters": [{"$ref": "#/components/parameters/import_concurrency"}, {"$ref": "#/components/parameters/import_on_duplicate"}],
             "requestBody": {"required": true, "content": {
               "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line: {\"id\": \"...\", \"url\": \"https://...\" or \"path\": \"...\", \"metadata\": {...}}"}},
               "text/csv": {"schema": {"type": "string", "description": "a header naming id, url or path, and optionally metadata (JSON object text), then one row per item"}},
               "application/json": {"schema": {"$ref": "#/components/schemas/FolderImport"}}}},
             "responses": {"202": {"description": "queued; Location names the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportJob"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                           "403": {"$ref": "#/components/responses/Problem"}, "413": {"$ref": "#/components/responses/Problem"},
                           "415": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.createImport(request, collection: collection) },
        APIRoute(.get, "/imports", scope: .collection, access: .read, operation: #"""
            {"summary": "The collection's import jobs, newest first", "operationId": "listImports",
             "parameters": [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/after"}],
             "responses": {"200": {"description": "a page of jobs; 'next' is the cursor for the following page", "content": {"application/json": {"schema":
               {"type": "object", "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/ImportJob"}}, "next": {"type": "string"}}}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.listImports(request, collection: collection) },
        APIRoute(.get, "/imports/{job}", scope: .collection, access: .read, operation: #"""
            {"summary": "An import job's state, counts per outcome and rate", "operationId": "getImport",
             "parameters": [{"$ref": "#/components/parameters/job"}],
             "responses": {"200": {"description": "the job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportJob"}}}},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.describeImport(request, collection: collection) },
        APIRoute(.get, "/imports/{job}/items", scope: .collection, access: .read, operation: #"""
            {"summary": "An import job's items with their outcomes, by position", "operationId": "importItems",
             "parameters": [{"$ref": "#/components/parameters/job"}, {"$ref": "#/components/parameters/import_state"},
                            {"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/import_after"}],
             "responses": {"200": {"description": "a page of items; 'next' is the cursor for the following page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportItems"}}}},
                           "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.importItems(request, collection: collection) },
        APIRoute(.post, "/imports/{job}/cancel", scope: .collection, access: .write, operation: #"""
            {"summary": "Cancel a queued or running import job (items not started stay pending)", "operationId": "cancelImport",
             "parameters": [{"$ref": "#/components/parameters/job"}],
             "responses": {"200": {"description": "the cancelled job", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportJob"}}}},
                           "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, request, collection in try api.cancelImport(request, collection: collection) },
        APIRoute(.get, "/stats", scope: .collection, access: .read, operation: #"""
            {"summary": "Collection and index statistics", "operationId": "collectionStats",
             "responses": {"200": {"description": "statistics"}, "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, _, collection in try api.stats(collection: collection) },

        // The service.
        APIRoute(.post, "/v1/backups", scope: .service, access: .admin, operation: #"""
            {"summary": "A consistent copy of the SQLite database in storage.backupDirectory, taken while uploads and searches go on (501 with PostgreSQL: use its own tools)", "operationId": "backup",
             "responses": {"201": {"description": "the copy: its path on the server and its size", "content": {"application/json": {"schema":
               {"type": "object", "required": ["path", "bytes", "took_ms"], "properties": {"path": {"type": "string"}, "bytes": {"type": "integer"}, "took_ms": {"type": "number"}}}}}},
                           "501": {"$ref": "#/components/responses/Problem"},
                           "507": {"$ref": "#/components/responses/Problem"}}}
            """#) { api, _, _ in try api.backup() },
        APIRoute(.get, "/healthz", scope: .service, access: .open, operation: #"""
            {"summary": "Liveness", "operationId": "health", "responses": {"200": {"description": "alive"}}}
            """#) { _, _, _ in JSONResponse.make(.ok, ["status": "ok"]) },
        APIRoute(.get, "/readyz", scope: .service, access: .open, operation: #"""
            {"summary": "Readiness: 503 until the indexes are loaded, and (nodes sharing a PostgreSQL database) while not caught up with it",
             "operationId": "ready",
             "responses": {"200": {"description": "ready; `building` names the collections whose index is still being built in the background (they answer exactly meanwhile)"}, "503": {"description": "loading, or behind the shared database"}}}
            """#) { api, _, _ in
                guard api.service.isReady else {
                    return JSONResponse.make(.serviceUnavailable, ["status": "loading"], headers: [("Retry-After", "1")])
                }
                let follow = api.service.followStatus
                guard follow.caughtUp else {
                    return JSONResponse.make(.serviceUnavailable, ["status": "behind", "detail": .string(follow.detail ?? "catching up")],
                                             headers: [("Retry-After", "1")])
                }
                let building = api.service.collectionsBuildingIndexes
                guard building.isEmpty else {
                    return JSONResponse.make(.ok, ["status": "ready", "building": .array(building.map { .string($0) })])
                }
                return JSONResponse.make(.ok, ["status": "ready"])
            },
        APIRoute(.get, "/metrics", scope: .service, access: .read, operation: #"""
            {"summary": "Prometheus metrics", "operationId": "metrics", "responses": {"200": {"description": "text/plain; version=0.0.4"}}}
            """#) { api, _, _ in try api.metricsResponse() },
        APIRoute(.get, "/openapi.json", scope: .service, access: .open, operation: #"""
            {"summary": "This document", "operationId": "openapi", "responses": {"200": {"description": "OpenAPI 3"}}}
            """#) { api, _, _ in HTTPResponse(status: .ok, contentType: "application/json", body: api.openAPIDocument) },

        // The browser page: static files; what it shows it fetches from the routes above with the user's key.
        APIRoute(.get, "/", scope: .service, access: .open, operation: #"""
            {"summary": "The web page: search by image, browse, near-duplicates", "operationId": "webPage",
             "responses": {"200": {"description": "text/html"}, "304": {"description": "not modified (If-None-Match)"}}}
            """#) { _, request, _ in try webAsset("index.html", request) },
        APIRoute(.get, "/ui/{asset}", scope: .service, access: .open, operation: #"""
            {"summary": "The web page's script, style sheet and icon", "operationId": "webAsset",
             "parameters": [{"name": "asset", "in": "path", "required": true, "schema": {"type": "string", "enum": WEB_ASSETS}}],
             "responses": {"200": {"description": "the file"}, "304": {"description": "not modified (If-None-Match)"},
                           "404": {"$ref": "#/components/responses/Problem"}}}
            """#) { _, request, _ in try webAsset(request.parameters["asset"] ?? "", request) },
    ]

    private static func webAsset(_ name: String, _ request: HTTPRequest) throws -> HTTPResponse {
        guard let response = WebPage.response(for: name, ifNoneMatch: request.header("If-None-Match")) else {
            throw APIError(status: .notFound, detail: "no such file: /ui/\(name)")
        }
        return response
    }
}
