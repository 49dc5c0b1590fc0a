import Synchronization
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One blocking request to a running server, for the commands that work through one (`--server`).
enum ServerRequest {
    static func send(_ method: String, _ url: String, body: Data?, contentType: String?, apiKey: String?) -> (status: Int, body: Data, error: String?) {
        guard let target = URL(string: url) else { return (0, Data(), "bad URL \(url)") }
        var request = URLRequest(url: target, timeoutInterval: 300)
        request.httpMethod = method
        request.httpBody = body
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        let done = DispatchSemaphore(value: 0)
        let box = ResponseBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.value.withLock { $0 = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data(), error.map { "\($0.localizedDescription)" }) }
            done.signal()
        }.resume()
        done.wait()
        return box.value.withLock { $0 } ?? (0, Data(), "no response")
    }

    /// ``send(_:_:body:contentType:apiKey:)`` with the answer read as a JSON object (empty when it is not one).
    static func json(_ method: String, _ url: String, body: Data?, contentType: String?, apiKey: String?) -> (status: Int, json: [String: Any], error: String?) {
        let answer = send(method, url, body: body, contentType: contentType, apiKey: apiKey)
        return (answer.status, ((try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]) ?? [:], answer.error)
    }
}

/// Carries a URLSession result to the waiting thread.
final class ResponseBox: Sendable {
    let value = Mutex<(Int, Data, String?)?>(nil)
}
