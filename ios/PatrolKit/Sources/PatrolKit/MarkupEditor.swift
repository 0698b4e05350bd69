// Marking up a photo: arrows, circles and short texts drawn with a finger over the
// photo and recorded by the core as a layer beside the sealed original
// (`markPhoto(sha256:marks:)`); the photo's file never changes. The editing rules, the
// same as Android's MarkupModel (app-logic): view points to the photo's 0–10 000
// coordinates (the photo fitted into its view, letterboxed), what a drag or a tap makes,
// undo, and the bounds the core enforces checked before the person presses save.
import CoreGraphics
import Foundation

/// The core's bounds for a layer (patrol_protocol::record): it refuses anything past them.
public enum MarkLimits {
    /// Every coordinate runs 0...scale across (and down) the photo, whatever its pixels.
    public static let scale = 10_000
    public static let marksMax = 24
    public static let textMax = 40
    /// A drag shorter than this (points) is a tap, not a shape.
    public static let minDrag: CGFloat = 12
}

/// A point of the photo in its own coordinates.
public struct MarkPoint: Equatable {
    public let x: UInt16
    public let y: UInt16
    public init(x: UInt16, y: UInt16) { self.x = x; self.y = y }
}

/// Where the photo is drawn in its view, in view points. `fit` gives the rectangle of a
/// photo fitted whole into a view ("aspect fit"), centred, so taps in the bars beside it
/// are outside the photo.
public struct MarkupFrame: Equatable {
    public let rect: CGRect

    public init?(rect: CGRect) {
        guard rect.width > 0, rect.height > 0 else { return nil }
        self.rect = rect
    }

    /// Nil for an empty image or view (nothing to draw into yet).
    public static func fit(image: CGSize, in view: CGSize) -> MarkupFrame? {
        guard image.width > 0, image.height > 0, view.width > 0, view.height > 0 else { return nil }
        let scale = min(view.width / image.width, view.height / image.height)
        let w = image.width * scale, h = image.height * scale
        return MarkupFrame(rect: CGRect(x: (view.width - w) / 2, y: (view.height - h) / 2, width: w, height: h))
    }

    /// A view point in the photo's coordinates, clamped to its edges; nil when the point
    /// is outside the photo by more than `slack` (a tap in the bars).
    public func toMark(_ p: CGPoint, slack: CGFloat = 24) -> MarkPoint? {
        guard p.x >= rect.minX - slack, p.x <= rect.maxX + slack, p.y >= rect.minY - slack, p.y <= rect.maxY + slack else { return nil }
        return MarkPoint(x: Self.coordinate((p.x - rect.minX) / rect.width), y: Self.coordinate((p.y - rect.minY) / rect.height))
    }

    /// A photo point back in view points (for drawing the layer).
    public func toView(_ x: UInt16, _ y: UInt16) -> CGPoint {
        CGPoint(x: rect.minX + CGFloat(x) * rect.width / CGFloat(MarkLimits.scale),
                y: rect.minY + CGFloat(y) * rect.height / CGFloat(MarkLimits.scale))
    }

    /// A length in units of the photo's width (a circle's radius) in view points.
    public func radiusToView(_ r: UInt16) -> CGFloat { CGFloat(r) * rect.width / CGFloat(MarkLimits.scale) }

    private static func coordinate(_ fraction: CGFloat) -> UInt16 {
        UInt16(min(max((fraction * CGFloat(MarkLimits.scale)).rounded(), 0), CGFloat(MarkLimits.scale)))
    }
}

public enum MarkTool: CaseIterable { case arrow, circle, text }

/// What a gesture did, for the screen to show.
public enum MarkupOutcome: Equatable {
    case added
    /// Nothing was added: a tap where a drag was needed, or outside the photo.
    case ignored
    case refused(PatrolFailure)
}

/// One photo's layer being edited, starting from the layer the core shows; nothing is
/// recorded until the screen saves `marks` (an empty layer clears the photo's layer).
public struct MarkupEditor {
    public var frame: MarkupFrame
    public private(set) var marks: [Mark]
    public var tool: MarkTool = .arrow
    /// Changed since it was loaded or last saved.
    public private(set) var dirty = false

    public init(frame: MarkupFrame, marks: [Mark]) {
        self.frame = frame
        self.marks = marks
    }

    public var canAdd: Bool { marks.count < MarkLimits.marksMax }

    /// A finger dragged from one view point to another: an arrow pointing at where it
    /// ended, or a circle centred where it began and reaching where it ended.
    public mutating func drag(from: CGPoint, to: CGPoint) -> MarkupOutcome {
        if tool == .text { return .ignored }
        let length = hypot(to.x - from.x, to.y - from.y)
        if length < MarkLimits.minDrag { return .ignored }
        if !canAdd { return Self.tooMany }
        guard let a = frame.toMark(from), let b = frame.toMark(to) else { return .ignored }
        switch tool {
        case .arrow:
            if a == b { return .ignored }
            return add(.arrow(fromX: a.x, fromY: a.y, toX: b.x, toY: b.y))
        default:
            // The radius in units of the photo's width, whatever direction it was dragged.
            let r = min(max((length / frame.rect.width * CGFloat(MarkLimits.scale)).rounded(), 1), CGFloat(MarkLimits.scale))
            return add(.circle(x: a.x, y: a.y, radius: UInt16(r)))
        }
    }

    /// A text placed where the finger tapped: one line, trimmed, at most
    /// `MarkLimits.textMax` characters (refused rather than cutting the person's words).
    public mutating func text(at p: CGPoint, typed: String) -> MarkupOutcome {
        let line = typed.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        if line.isEmpty { return .ignored }
        // Characters as the core counts them: Unicode scalar values.
        if line.unicodeScalars.count > MarkLimits.textMax {
            return .refused(PatrolFailure(kind: .invalidInput, zh: "标注文字最多 \(MarkLimits.textMax) 个字",
                                          en: "a mark's text holds at most \(MarkLimits.textMax) characters", field: "marks"))
        }
        if !canAdd { return Self.tooMany }
        guard let at = frame.toMark(p) else { return .ignored }
        return add(.text(x: at.x, y: at.y, text: line))
    }

    @discardableResult
    public mutating func undo() -> Bool {
        guard !marks.isEmpty else { return false }
        marks.removeLast()
        dirty = true
        return true
    }

    public mutating func clear() {
        if !marks.isEmpty { dirty = true }
        marks.removeAll()
    }

    /// The layer as it is now was recorded.
    public mutating func saved() { dirty = false }

    private mutating func add(_ mark: Mark) -> MarkupOutcome {
        marks.append(mark)
        dirty = true
        return .added
    }

    private static let tooMany = MarkupOutcome.refused(PatrolFailure(
        kind: .invalidInput, zh: "一张照片最多 \(MarkLimits.marksMax) 处标注", en: "at most \(MarkLimits.marksMax) marks on a photo", field: "marks"))
}

/// The markup screen's model: reads the layer the core shows now (the newest) once the
/// photo's place on screen is known, keeps the editor, and records the layer on save.
@MainActor
public final class MarkupModel: ScreenModel {
    public let sha256: String
    @Published public var editor: MarkupEditor?
    /// The record id of the saved layer; the screen closes when it is set.
    @Published public private(set) var savedId: String?
    private var frame: MarkupFrame?
    private var loading = false

    public init(service: PatrolService, sha256: String) {
        self.sha256 = sha256
        super.init(service: service)
    }

    /// Where the photo is drawn now: the first time, the layer is read; later (a rotation)
    /// the editor moves to the new frame, its marks unchanged.
    public func place(_ frame: MarkupFrame) {
        self.frame = frame
        if editor != nil {
            editor?.frame = frame
            return
        }
        guard !loading else { return }
        loading = true
        let sha = sha256
        act {
            defer { self.loading = false }
            let marks = try await self.service.read { try $0.photoMarks(sha256: sha) }
            self.editor = MarkupEditor(frame: self.frame ?? frame, marks: marks)
        }
    }

    public func drag(from: CGPoint, to: CGPoint) { show(editor?.drag(from: from, to: to)) }

    /// False when the text was refused (too long): the screen keeps the person's words.
    public func text(at p: CGPoint, typed: String) -> Bool {
        let outcome = editor?.text(at: p, typed: typed)
        show(outcome)
        if case .some(.refused) = outcome { return false }
        return true
    }

    public func undo() { editor?.undo() }
    public func clear() { editor?.clear() }

    public func save() {
        guard let marks = editor?.marks else { return }
        let sha = sha256
        act {
            let id = try await self.service.write { try $0.markPhoto(sha256: sha, marks: marks) }
            self.editor?.saved()
            self.savedId = id
        }
    }

    private func show(_ outcome: MarkupOutcome?) {
        switch outcome {
        case .some(.refused(let f)): failure = f
        case .some(.added): failure = nil
        case .some(.ignored), .none: break
        }
    }
}
