// Marking up one of this phone's photos: arrows, circles and short texts drawn with a
// finger over the photo, saved by the core as a layer beside the sealed original (the
// photo's file never changes). MarkupEditor (PatrolKit) holds the rules, the same as
// Android's MarkupModel; this view shows the photo fitted into its space, draws the
// layer the way the console draws it over the notice page's photos, and passes the
// gestures on. Shown in a sheet from wherever the person's own photos are shown.
import PatrolKit
import SwiftUI
import UIKit

/// A photo to mark up, for `.sheet(item:)`.
struct PhotoRef: Identifiable { let id: String }

/// The files of this phone's photos (the core keeps them under its data directory).
enum PhotoFiles {
    static var dir: URL {
        FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].appendingPathComponent("patrol/photos")
    }
    static func original(_ sha: String) -> URL { dir.appendingPathComponent("\(sha).jpg") }
    static func thumb(_ sha: String) -> URL { dir.appendingPathComponent("thumbs/\(sha).jpg") }
    /// Only the photos taken on this phone are here; others' are on the server only.
    static func isHere(_ sha: String) -> Bool { FileManager.default.fileExists(atPath: original(sha).path) }
}

struct MarkupView: View {
    let service: PatrolService
    let sha256: String
    let done: () -> Void
    var body: some View { Content(service: service, sha256: sha256, done: done) }

    private struct Content: View {
        let done: () -> Void
        @StateObject private var model: MarkupModel
        @State private var image: UIImage?
        @State private var missing = false
        /// The drag under the finger, drawn as it goes; the editor gets it at the end.
        @State private var live: (from: CGPoint, to: CGPoint)?
        @State private var typingAt: TextPlace?
        @State private var textRefused: PatrolFailure?
        @State private var discarding = false

        init(service: PatrolService, sha256: String, done: @escaping () -> Void) {
            self.done = done
            _model = StateObject(wrappedValue: MarkupModel(service: service, sha256: sha256))
        }

        private var editor: MarkupEditor? { model.editor }
        private var marks: [Mark] { editor?.marks ?? [] }
        private var tool: MarkTool { editor?.tool ?? .arrow }
        private var dirty: Bool { editor?.dirty ?? false }
        private var canAdd: Bool { editor?.canAdd ?? true }

        var body: some View {
            NavigationStack {
                VStack(spacing: 8) {
                    FailureBanner(failure: model.failure) { model.failure = nil }
                    photo
                    controls.padding(.horizontal)
                }
                .navigationTitle(Text("markup.title"))
                .navigationBarTitleDisplayMode(.inline)
                .toolbar {
                    ToolbarItem(placement: .cancellationAction) {
                        Button("cancel") { if dirty { discarding = true } else { done() } }.disabled(model.busy)
                    }
                    ToolbarItem(placement: .confirmationAction) {
                        Button("markup.save") { model.save() }.disabled(model.busy || !dirty)
                    }
                }
            }
            // Drags draw on the photo, so the sheet is not swiped away; Cancel leaves.
            .interactiveDismissDisabled()
            .task {
                if image == nil {
                    image = UIImage(contentsOfFile: PhotoFiles.original(model.sha256).path)
                    missing = image == nil
                }
            }
            .onChange(of: model.savedId) { id in if id != nil { done() } }
            .confirmationDialog("markup.discard", isPresented: $discarding, titleVisibility: .visible) {
                Button("markup.discardConfirm", role: .destructive) { done() }
                Button("cancel", role: .cancel) {}
            }
            .sheet(item: $typingAt) { place in
                MarkTextSheet(refusal: textRefused) { typed in
                    if model.text(at: place.point, typed: typed) {
                        typingAt = nil
                    } else {
                        // Too long: the sheet stays, with the person's words and why.
                        textRefused = model.failure
                        model.failure = nil
                    }
                } cancel: {
                    typingAt = nil
                }
            }
        }

        @ViewBuilder private var photo: some View {
            GeometryReader { geo in
                ZStack {
                    Color.black
                    if let img = image, let frame = MarkupFrame.fit(image: img.size, in: geo.size) {
                        Canvas { context, _ in
                            context.draw(Image(uiImage: img), in: frame.rect)
                            var layer = context
                            layer.clip(to: Path(frame.rect))
                            for mark in marks { drawMark(mark, in: frame, on: layer) }
                            if let l = live { drawLive(tool, from: l.from, to: l.to, in: frame, on: layer) }
                        }
                        .contentShape(Rectangle())
                        .gesture(
                            DragGesture(minimumDistance: 0)
                                .onChanged { live = ($0.startLocation, $0.location) }
                                .onEnded { g in
                                    live = nil
                                    ended(from: g.startLocation, to: g.location)
                                }
                        )
                        .onAppear { model.place(frame) }
                        .onChange(of: frame) { model.place($0) }
                    } else if missing {
                        Text("markup.photoMissing").foregroundColor(.white).padding()
                    }
                }
            }
        }

        @ViewBuilder private var controls: some View {
            VStack(alignment: .leading, spacing: 8) {
                Picker("", selection: Binding(get: { tool }, set: { model.editor?.tool = $0 })) {
                    Text("markup.arrow").tag(MarkTool.arrow)
                    Text("markup.circle").tag(MarkTool.circle)
                    Text("markup.text").tag(MarkTool.text)
                }
                .pickerStyle(.segmented)
                .disabled(editor == nil)
                Text(hint).font(.caption).foregroundColor(canAdd ? .secondary : .red)
                HStack {
                    Button("markup.undo") { model.undo() }.disabled(model.busy || marks.isEmpty)
                    Button("clear") { model.clear() }.disabled(model.busy || marks.isEmpty)
                    Spacer()
                    Text(String(format: NSLocalizedString("markup.count %lld %lld", comment: ""), marks.count, MarkLimits.marksMax))
                        .font(.caption).foregroundColor(canAdd ? .secondary : .red)
                }
                .buttonStyle(.bordered)
                Text("markup.note").font(.caption2).foregroundColor(.secondary)
            }
        }

        private var hint: String {
            if !canAdd { return String(format: NSLocalizedString("markup.full %lld", comment: ""), MarkLimits.marksMax) }
            switch tool {
            case .arrow: return NSLocalizedString("markup.hintArrow", comment: "")
            case .circle: return NSLocalizedString("markup.hintCircle", comment: "")
            case .text: return NSLocalizedString("markup.hintText", comment: "")
            }
        }

        private func ended(from: CGPoint, to: CGPoint) {
            guard let editor, !model.busy else { return }
            if editor.tool == .text {
                // A text goes where the finger was lifted; a tap in the bars beside the photo
                // (no point of it) or on a full layer opens nothing.
                if editor.canAdd, editor.frame.toMark(to) != nil {
                    textRefused = nil
                    typingAt = TextPlace(point: to)
                }
                return
            }
            model.drag(from: from, to: to)
        }
    }
}

/// Where a text goes, for `.sheet(item:)`.
private struct TextPlace: Identifiable {
    let id = UUID()
    let point: CGPoint
}

/// One line of text for a mark; the editor trims it and refuses more than
/// `MarkLimits.textMax` characters (the refusal is shown here, the words kept).
private struct MarkTextSheet: View {
    let refusal: PatrolFailure?
    let confirm: (String) -> Void
    let cancel: () -> Void
    @State private var typed = ""
    @FocusState private var focused: Bool

    private var blank: Bool { typed.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }

    var body: some View {
        NavigationStack {
            Form {
                TextField(String(format: NSLocalizedString("markup.textLabel %lld", comment: ""), MarkLimits.textMax), text: $typed)
                    .focused($focused)
                    .submitLabel(.done)
                    .onSubmit { if !blank { confirm(typed) } }
                Text(refusal?.text(Lang.current) ?? "\(typed.unicodeScalars.count) / \(MarkLimits.textMax)")
                    .font(.caption)
                    .foregroundColor(refusal == nil ? .secondary : .red)
            }
            .navigationTitle(Text("markup.textTitle"))
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) { Button("cancel", action: cancel) }
                ToolbarItem(placement: .confirmationAction) { Button("confirm") { confirm(typed) }.disabled(blank) }
            }
        }
        .presentationDetents([.medium])
        .onAppear { focused = true }
    }
}

// MARK: Drawing, as the console draws a layer (server/src/web/layout.rs, marked_thumb):
// sizes in the photo's own units (10 000 = its width), so a layer looks the same here as
// on the notice page.

private let markRed = Color(red: 229 / 255.0, green: 57 / 255.0, blue: 53 / 255.0)
private let strokeUnits: UInt16 = 90
private let textUnits: UInt16 = 600
private let haloUnits: UInt16 = 40

/// A size in the photo's units in view points, never thinner than a line.
private func units(_ u: UInt16, _ frame: MarkupFrame) -> CGFloat { max(frame.radiusToView(u), 1) }

private func drawMark(_ mark: Mark, in frame: MarkupFrame, on context: GraphicsContext) {
    let stroke = units(strokeUnits, frame)
    switch mark {
    case let .arrow(fromX, fromY, toX, toY):
        drawArrow(from: frame.toView(fromX, fromY), to: frame.toView(toX, toY), stroke: stroke, on: context)
    case let .circle(x, y, radius):
        let c = frame.toView(x, y), r = frame.radiusToView(radius)
        context.stroke(Path(ellipseIn: CGRect(x: c.x - r, y: c.y - r, width: 2 * r, height: 2 * r)), with: .color(markRed), lineWidth: stroke)
    case let .text(x, y, text):
        // (x, y) is the text's top-left corner; red on a white halo, legible on any photo.
        let at = frame.toView(x, y)
        let font = Font.system(size: units(textUnits, frame), weight: .semibold)
        let halo = context.resolve(Text(verbatim: text).font(font).foregroundColor(.white))
        let shown = context.resolve(Text(verbatim: text).font(font).foregroundColor(markRed))
        let h = units(haloUnits, frame)
        for dx in [-h, 0, h] {
            for dy in [-h, 0, h] where dx != 0 || dy != 0 {
                context.draw(halo, at: CGPoint(x: at.x + dx, y: at.y + dy), anchor: .topLeading)
            }
        }
        context.draw(shown, at: at, anchor: .topLeading)
    }
}

/// The drag in progress, as the editor will take it: an arrow to the finger, or a circle
/// round where it began.
private func drawLive(_ tool: MarkTool, from: CGPoint, to: CGPoint, in frame: MarkupFrame, on context: GraphicsContext) {
    let stroke = units(strokeUnits, frame)
    switch tool {
    case .arrow:
        drawArrow(from: from, to: to, stroke: stroke, on: context)
    case .circle:
        let r = hypot(to.x - from.x, to.y - from.y)
        context.stroke(Path(ellipseIn: CGRect(x: from.x - r, y: from.y - r, width: 2 * r, height: 2 * r)), with: .color(markRed), lineWidth: stroke)
    case .text:
        break
    }
}

/// A line with a filled head at `to`, the head four strokes long as the console's marker.
private func drawArrow(from: CGPoint, to: CGPoint, stroke: CGFloat, on context: GraphicsContext) {
    let length = hypot(to.x - from.x, to.y - from.y)
    guard length >= 1 else { return }
    let ux = (to.x - from.x) / length, uy = (to.y - from.y) / length
    let head = min(stroke * 4, length)
    let base = CGPoint(x: to.x - ux * head, y: to.y - uy * head)
    var line = Path()
    line.move(to: from)
    line.addLine(to: base)
    context.stroke(line, with: .color(markRed), lineWidth: stroke)
    var tip = Path()
    tip.move(to: to)
    tip.addLine(to: CGPoint(x: base.x - uy * head / 2, y: base.y + ux * head / 2))
    tip.addLine(to: CGPoint(x: base.x + uy * head / 2, y: base.y - ux * head / 2))
    tip.closeSubpath()
    context.fill(tip, with: .color(markRed))
}
