import Foundation
import HTTPServer
import Lookalike

/// An import job as `GET …/imports/{job}` reports it.
struct ImportJobBody: Encodable {
    let job: ImportJob

    enum CodingKeys: String, CodingKey {
        case id, collection, state, source, concurrency, total, done, counts
        case onDuplicate = "on_duplicate"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case itemsPerSecond = "items_per_second"
        case etaSeconds = "eta_seconds"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(job.id, forKey: .id)
        try container.encode(job.collection, forKey: .collection)
        try container.encode(job.state.rawValue, forKey: .state)
        try container.encode(job.source, forKey: .source)
        try container.encode(job.concurrency, forKey: .concurrency)
        try container.encode(job.onDuplicate.rawValue, forKey: .onDuplicate)
        try container.encode(InternetTimestamp.string(secondsSince1970: job.created.timeIntervalSince1970), forKey: .createdAt)
        try container.encodeIfPresent(job.started.map { InternetTimestamp.string(secondsSince1970: $0.timeIntervalSince1970) }, forKey: .startedAt)
        try container.encodeIfPresent(job.finished.map { InternetTimestamp.string(secondsSince1970: $0.timeIntervalSince1970) }, forKey: .finishedAt)
        try container.encode(job.total, forKey: .total)
        try container.encode(job.done, forKey: .done)
        try container.encode(Dictionary(uniqueKeysWithValues: ImportItem.State.allCases.map { ($0.rawValue, job.counts[$0] ?? 0) }), forKey: .counts)
        if job.state == .running, let rate = job.itemsPerSecond, rate > 0 {
            try container.encode((rate * 100).rounded() / 100, forKey: .itemsPerSecond)
            try container.encode((Double(job.total - job.done) / rate).rounded(), forKey: .etaSeconds)
        }
    }
}

struct ImportJobListBody: Encodable {
    let jobs: [ImportJobBody]
    let next: String?
}

/// A page of an import job's items.
struct ImportItemsBody: Encodable {
    struct Item: Encodable {
        let item: ImportItem

        enum CodingKeys: String, CodingKey {
            case position, id, url, path, state, reason, attempts
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(item.position, forKey: .position)
            try container.encodeIfPresent(item.key, forKey: .id)
            switch item.source {
            case .url(let url): try container.encode(url, forKey: .url)
            case .path(let path): try container.encode(path, forKey: .path)
            case nil: break
            }
            try container.encode(item.state.rawValue, forKey: .state)
            try container.encodeIfPresent(item.reason, forKey: .reason)
            try container.encode(item.attempts, forKey: .attempts)
        }
    }

    let items: [Item]
    let next: String?
}
