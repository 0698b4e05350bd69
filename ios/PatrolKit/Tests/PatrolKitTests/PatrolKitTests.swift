// PatrolKit on a Mac or simulator: the bindings load, the core opens, and its typed
// errors arrive as PatrolFailure. The server stories run on the JVM (scripts/kotlin-test)
// with the same core; set PATROL_SERVER_URL and PATROL_PASSWORD to also sign in here.
import XCTest
@testable import PatrolKit

@MainActor
final class PatrolKitTests: XCTestCase {
    private func service() throws -> PatrolService {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patrolkit-\(UUID().uuidString)")
        return try PatrolService(dataDir: dir, fontPath: nil, storeKey: Data(repeating: 7, count: 32))
    }

    func testAWrongStoreKeyIsRefusedAsWrongStoreKey() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patrolkit-\(UUID().uuidString)")
        _ = try PatrolService(dataDir: dir, fontPath: nil, storeKey: Data(repeating: 7, count: 32))
        do {
            _ = try PatrolService(dataDir: dir, fontPath: nil, storeKey: Data(repeating: 8, count: 32))
            XCTFail("a wrong key opened the store")
        } catch let f as PatrolFailure {
            XCTAssertEqual(f.kind, .wrongStoreKey, "\(f)")
            XCTAssertTrue(f.zh.contains("密钥"), f.zh)
        }
    }

    func testAFreshPhoneHasNothingQueued() async throws {
        let s = try service()
        let q = try await s.read { try $0.queueStatus() }
        XCTAssertEqual(q.queuedRecords, 0)
        XCTAssertEqual(noticeStateNameZh(state: .acknowledged), "已签收")
    }

    func testNobodySignedInCannotStartARun() async throws {
        let s = try service()
        do {
            _ = try await s.write { try $0.startRun(routeId: "01890000-0000-7000-8000-000000000000") }
            XCTFail("refused")
        } catch let f as PatrolFailure {
            XCTAssertNotEqual(f.kind, .unknown, "\(f)")
        }
    }

    func testAnUnreachableServerIsOffline() async throws {
        let s = try service()
        do {
            _ = try await s.write { try $0.login(serverUrl: "http://127.0.0.1:9", login: "patrol", password: "x") }
            XCTFail("refused")
        } catch let f as PatrolFailure {
            XCTAssertEqual(f.kind, .offline)
            XCTAssertEqual(backgroundSync(s.core), .stop, "not signed in: stop, do not retry")
        }
    }

    func testTagSpellingAndSiteTimeWindows() {
        XCTAssertEqual(nfcSpelling("04:a2:10"), "04A210")
        XCTAssertEqual(nfcSpelling(Data([0x04, 0xA2, 0x10])), "04A210")
        XCTAssertEqual(Formats.window(1_767_225_600_000, 1_767_232_800_000, offsetMinutes: 480), "08:00–10:00")
    }

    func testSignInWhenAServerIsGiven() async throws {
        guard let url = ProcessInfo.processInfo.environment["PATROL_SERVER_URL"],
              let pw = ProcessInfo.processInfo.environment["PATROL_PASSWORD"] else {
            throw XCTSkip("set PATROL_SERVER_URL and PATROL_PASSWORD (login patrol) to run against a demo server")
        }
        let s = try service()
        let person = try await s.write { try $0.login(serverUrl: url, login: "patrol", password: pw) }
        XCTAssertFalse(person.displayName.isEmpty)
        let report = try await s.write { try $0.sync(listener: nil, cancel: nil) }
        XCTAssertTrue(report.referenceUpdated)
    }
}

/// The same table rules as DeepLinkRouterTest (Kotlin), in brief: not run here (no Swift
/// toolchain on the CI machines); `swift test` on a Mac runs it.
final class NoticeLinkTests: XCTestCase {
    func testGoodAndBadLinks() {
        let host = "patrol.jade-garden.cn"
        let id = UUID().uuidString.lowercased()
        for good in ["https://\(host)/notices/\(id)", "https://\(host.uppercased()):443/notices/\(id.uppercased())?from=wecom",
                     "patrol://notice/\(id)", "PATROL://NOTICE/\(id)#x"] {
            XCTAssertEqual(NoticeLink.route(good, hosts: [host]), id, good)
        }
        for bad in ["http://\(host)/notices/\(id)", "https://evil.cn/notices/\(id)", "https://\(host).evil.cn/notices/\(id)",
                    "https://\(host)@evil.cn/notices/\(id)", "https://\(host):8443/notices/\(id)",
                    "https://\(host)/notices/\(id)/", "https://\(host)/notices/\(id)/actions", "https://\(host)/notice/\(id)",
                    "https://\(host)/notices/\(id.dropLast())", "https://\(host)/notices/\(id.replacingOccurrences(of: "-", with: "%2D"))",
                    "patrol://notices/\(id)", "patrol://notice/\(id)/x", "patrol:notice/\(id)", " https://\(host)/notices/\(id)", ""] {
            XCTAssertNil(NoticeLink.route(bad, hosts: [host]), bad)
        }
    }
}

/// The markup editor's rules, the same cases as MarkupModelTest (Kotlin) without the core:
/// the frame of a photo fitted into its view, gestures to marks, the core's bounds.
final class MarkupEditorTests: XCTestCase {
    func testAPhotoFittedIntoItsViewMapsTapsToItsOwnCoordinates() throws {
        // A 4:3 photo in a 1080×1920 portrait view: full width, bars above and below.
        let frame = try XCTUnwrap(MarkupFrame.fit(image: CGSize(width: 1024, height: 768), in: CGSize(width: 1080, height: 1920)))
        XCTAssertEqual(frame.rect, CGRect(x: 0, y: 555, width: 1080, height: 810))
        XCTAssertEqual(frame.toMark(CGPoint(x: 0, y: 555)), MarkPoint(x: 0, y: 0))
        XCTAssertEqual(frame.toMark(CGPoint(x: 1080, y: 555 + 810)), MarkPoint(x: 10_000, y: 10_000))
        XCTAssertEqual(frame.toMark(CGPoint(x: 540, y: 555 + 405)), MarkPoint(x: 5_000, y: 5_000))
        // Just past the edge is the edge; deep in the bars is no point at all.
        XCTAssertEqual(frame.toMark(CGPoint(x: 1090, y: 545)), MarkPoint(x: 10_000, y: 0))
        XCTAssertNil(frame.toMark(CGPoint(x: 540, y: 100)))
        XCTAssertEqual(frame.toView(5_000, 5_000), CGPoint(x: 540, y: 555 + 405))
        XCTAssertEqual(frame.radiusToView(1_000), 108, accuracy: 0.001)
        XCTAssertNil(MarkupFrame.fit(image: CGSize(width: 1024, height: 768), in: .zero))
    }

    func testGesturesMakeMarks() throws {
        let frame = try XCTUnwrap(MarkupFrame.fit(image: CGSize(width: 1024, height: 768), in: CGSize(width: 1024, height: 768)))
        var editor = MarkupEditor(frame: frame, marks: [])
        XCTAssertEqual(editor.drag(from: CGPoint(x: 102.4, y: 76.8), to: CGPoint(x: 512, y: 384)), .added)
        XCTAssertEqual(editor.drag(from: CGPoint(x: 300, y: 300), to: CGPoint(x: 305, y: 303)), .ignored, "a tap is not an arrow")
        editor.tool = .circle
        XCTAssertEqual(editor.drag(from: CGPoint(x: 512, y: 384), to: CGPoint(x: 614.4, y: 384)), .added)
        editor.tool = .text
        XCTAssertEqual(editor.drag(from: CGPoint(x: 10, y: 10), to: CGPoint(x: 500, y: 500)), .ignored)
        XCTAssertEqual(editor.text(at: CGPoint(x: 51.2, y: 700), typed: "  此处\n渗水  "), .added)
        XCTAssertEqual(editor.marks, [
            .arrow(fromX: 1000, fromY: 1000, toX: 5000, toY: 5000),
            .circle(x: 5000, y: 5000, radius: 1000),
            .text(x: 500, y: 9115, text: "此处 渗水"),
        ])
        XCTAssertTrue(editor.dirty)
        editor.saved()
        XCTAssertFalse(editor.dirty)
        XCTAssertTrue(editor.undo())
        XCTAssertEqual(editor.marks.count, 2)
        editor.clear()
        XCTAssertFalse(editor.undo())
        XCTAssertTrue(editor.dirty)
    }

    func testTheEditorStopsAtTheCoresBounds() throws {
        let frame = try XCTUnwrap(MarkupFrame.fit(image: CGSize(width: 1024, height: 768), in: CGSize(width: 1024, height: 768)))
        var editor = MarkupEditor(frame: frame, marks: [])
        editor.tool = .circle
        for _ in 0..<MarkLimits.marksMax {
            XCTAssertEqual(editor.drag(from: CGPoint(x: 100, y: 100), to: CGPoint(x: 150, y: 100)), .added)
        }
        guard case .refused(let tooMany) = editor.drag(from: CGPoint(x: 100, y: 100), to: CGPoint(x: 150, y: 100)) else {
            return XCTFail("a 25th mark was added")
        }
        XCTAssertEqual(tooMany.field, "marks")
        XCTAssertTrue(tooMany.zh.contains("\(MarkLimits.marksMax)"))
        editor.clear()
        guard case .refused(let long) = editor.text(at: CGPoint(x: 10, y: 10), typed: String(repeating: "字", count: MarkLimits.textMax + 1)) else {
            return XCTFail("a text past the bound was added")
        }
        XCTAssertEqual(long.field, "marks")
        XCTAssertEqual(editor.text(at: CGPoint(x: 10, y: 10), typed: String(repeating: "字", count: MarkLimits.textMax)), .added)
        XCTAssertEqual(editor.text(at: CGPoint(x: 10, y: 10), typed: " \n "), .ignored)
    }
}
