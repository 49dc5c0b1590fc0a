public import HTTPCore

/// Why an import job could not be created, found or changed.
public enum ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The manifest or request body is not usable as a whole (a bad line is an item refused, not this).
    case invalidManifest(String)
    /// More items than `imports.maxItems`.
    case tooManyItems(limit: Int)
    /// A folder that may not be named (outside `imports.root`, `..`).
    case invalidFolder(String)
    /// No such folder under `imports.root`, or no image files in it.
    case folderNotFound(String)
    /// Folder imports are off: `imports.root` is not set (403: the request is understood, this server refuses it).
    case foldersNotConfigured
    /// No job with this id (in this collection).
    case jobNotFound(String)
    /// The job has ended; it cannot be cancelled.
    case jobFinished(String)

    public var description: String {
        switch self {
        case .invalidManifest(let detail): "invalid manifest: \(detail)"
        case .tooManyItems(let limit): "more than \(limit) items (imports.maxItems)"
        case .invalidFolder(let detail): detail
        case .folderNotFound(let detail): detail
        case .foldersNotConfigured: "folder imports are off on this server (imports.root is not set)"
        case .jobNotFound(let id): "no import job '\(id.prefix(80))'"
        case .jobFinished(let id): "import job '\(id.prefix(80))' has ended"
        }
    }
}

extension ImportError: HTTPResponseError {
    public var publicDetail: String { description }

    public var status: HTTPStatus {
        switch self {
        case .invalidManifest, .invalidFolder: .badRequest
        case .tooManyItems: .contentTooLarge
        case .jobNotFound, .folderNotFound: .notFound
        case .foldersNotConfigured: .forbidden
        case .jobFinished: .conflict
        }
    }
}
