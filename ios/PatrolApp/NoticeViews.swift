// Notices: raise one (department, severity, due, description, photos); the inbox with
// overdue first; one notice with sign for receipt (PencilKit signature), report fix with
// after-photos, dispute, verify. The photos taken on this phone open their markup
// (MarkupView) in a sheet.
import PatrolKit
import PencilKit
import PhotosUI
import SwiftUI

struct NoticeFormView: View {
    let done: () -> Void
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.form, done: done) }

    private struct Content: View {
        @ObservedObject var model: NoticeFormModel
        let done: () -> Void
        @State private var camera = false
        @State private var cameraRefused = false
        @State private var library: PhotosPickerItem?
        @State private var marking: PhotoRef?

        var body: some View {
            Form {
                FailureBanner(failure: model.failure) { model.failure = nil }
                Picker("notice.department", selection: $model.departmentId) {
                    Text("—").tag(String?.none)
                    ForEach(model.departments, id: \.id) { d in Text(Lang.current.pick(d.nameZh, d.nameEn)).tag(String?.some(d.id)) }
                }
                Picker("notice.severity", selection: $model.severity) {
                    Text("severity.general").tag(Severity.general)
                    Text("severity.serious").tag(Severity.serious)
                }
                Picker("notice.due", selection: $model.dueInHours) {
                    ForEach(NoticeFormModel.dueChoices, id: \.self) { h in Text(String(format: NSLocalizedString("notice.dueHours %lld", comment: ""), h)).tag(h) }
                }
                TextField("notice.location", text: $model.location)
                TextField("notice.description", text: $model.text, axis: .vertical).lineLimit(3...8)
                Section {
                    Thumbnails(shas: model.photos) { marking = PhotoRef(id: $0) }
                    Button("photo.take") { openCamera() }
                    PhotosPicker(selection: $library, matching: .images) { Text("photo.library") }
                }
                Button("notice.submit") { model.submit() }.disabled(model.busy)
                Text("notice.pendingHint").font(.caption)
            }
            .navigationTitle(Text("notice.title"))
            .sheet(isPresented: $camera) { CameraPicker { model.addPhoto($0, fix: nil) } }
            .sheet(item: $marking) { p in MarkupView(service: model.service, sha256: p.id) { marking = nil } }
            .cameraRefusedAlert(isPresented: $cameraRefused)
            .onChange(of: library) { item in
                Task {
                    if let data = try? await item?.loadTransferable(type: Data.self) { model.addPhoto(data, fix: nil) }
                    library = nil
                }
            }
            .onChange(of: model.created?.noticeId) { id in if id != nil { done() } }
        }

        /// The camera once it may be used, else why it cannot be.
        private func openCamera() {
            Task { @MainActor in
                if await CameraAccess.allowed() { camera = true } else { cameraRefused = true }
            }
        }
    }
}

struct InboxView: View {
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.inbox, service: app.service, app: app) }

    private struct Content: View {
        @ObservedObject var model: InboxModel
        @ObservedObject var service: PatrolService
        let app: AppModel
        @State private var raising = false

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                Picker("", selection: $model.filter) {
                    Text("inbox.todo").tag(InboxFilter.toDo)
                    Text("inbox.open").tag(InboxFilter.open)
                    Text("inbox.all").tag(InboxFilter.all)
                }.pickerStyle(.segmented)
                if model.notices.isEmpty { Text("inbox.empty") }
                ForEach(model.notices, id: \.noticeId) { n in
                    NavigationLink(value: n.noticeId) {
                        VStack(alignment: .leading, spacing: 4) {
                            HStack {
                                Text(n.number ?? NSLocalizedString("notice.numberPending", comment: "")).font(.headline)
                                Spacer()
                                Text(Lang.current == .zh ? n.stateZh : "\(n.state)")
                            }
                            Text(n.description).lineLimit(2)
                            HStack {
                                Text("\(n.departmentNameZh) · \(n.checkpointNameZh ?? n.location)").font(.caption)
                                Spacer()
                                if n.overdue { Text("notice.overdue").foregroundColor(.red) }
                                else { Text(Formats.dayClock(n.dueMs, offsetMinutes: service.offset(of: n.siteId))).font(.caption) }
                            }
                        }
                    }
                }
            }
            .navigationTitle(Text("tab.notices"))
            .navigationDestination(for: String.self) { NoticeDetailView(noticeId: $0) }
            .toolbar {
                Button { app.form.open(); raising = true } label: { Image(systemName: "plus") }
            }
            .sheet(isPresented: $raising) { NavigationStack { NoticeFormView(done: { raising = false }) } }
            // refresh() is async: pull to refresh awaits it (its spinner stays until the
            // list is reloaded); elsewhere it runs in a task.
            .refreshable { [model] in await model.refresh() }
            .task { [model] in await model.refresh() }
            .onChange(of: service.revision) { _ in Task { [model] in await model.refresh() } }
        }
    }
}

private enum Pending: Identifiable {
    case sign, fix, dispute, verifyPass, verifyFail, corrective
    var id: Self { self }
}

struct NoticeDetailView: View {
    let noticeId: String
    @EnvironmentObject var app: AppModel
    var body: some View { Content(noticeId: noticeId, model: app.inbox, service: app.service) }

    private struct Content: View {
        let noticeId: String
        @ObservedObject var model: InboxModel
        let service: PatrolService
        @State private var pending: Pending?
        @State private var text = ""
        @State private var camera = false
        @State private var cameraRefused = false
        @State private var marking: PhotoRef?

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if let n = model.selected, n.noticeId == noticeId {
                    let offset = service.offset(of: n.siteId)
                    Section {
                        Text(n.number ?? NSLocalizedString("notice.numberPending", comment: "")).font(.title2)
                        Text("\(n.siteNameZh) · \(n.departmentNameZh) · \(n.stateZh)")
                        Text(n.checkpointNameZh ?? n.location)
                        Text(n.description)
                        if n.overdue { Text("notice.overdue").foregroundColor(.red) }
                        Text(Formats.dayClock(n.dueMs, offsetMinutes: offset))
                        Thumbnails(shas: n.photos) { marking = PhotoRef(id: $0) }
                    }
                    Section {
                        if n.allowedActions.contains(.acknowledge) { Button("notice.sign") { pending = .sign } }
                        if n.allowedActions.contains(.reportFix) {
                            Thumbnails(shas: model.afterPhotos) { marking = PhotoRef(id: $0) }
                            Button("notice.afterPhoto") { openCamera() }
                            Button("notice.reportFix") { pending = .fix }.disabled(model.afterPhotos.isEmpty)
                        }
                        if n.allowedActions.contains(.correctiveAction) { Button("notice.corrective") { pending = .corrective } }
                        if n.allowedActions.contains(.dispute) { Button("notice.dispute") { pending = .dispute } }
                        if n.allowedActions.contains(.verifyPass) { Button("notice.verifyPass") { pending = .verifyPass } }
                        if n.allowedActions.contains(.verifyFail) { Button("notice.verifyFail") { pending = .verifyFail } }
                    }
                    Section(header: Text("notice.timeline")) {
                        ForEach(Array(n.actions.enumerated()), id: \.offset) { _, a in
                            VStack(alignment: .leading) {
                                Text("\(Formats.dayClock(a.timeMs, offsetMinutes: offset)) \(a.actorName ?? "") \(String(describing: a.action)) \(a.reason)")
                                if let r = a.refusal { Text(r).foregroundColor(.red).font(.caption) }
                            }
                        }
                    }
                }
            }
            .onAppear { model.open(noticeId) }
            .sheet(isPresented: $camera) { CameraPicker { model.addAfterPhoto($0, fix: nil) } }
            // A sheet, not a pushed page: the notice stays open underneath, so coming back
            // does not run onAppear (model.open) again and the after-photos stay.
            .sheet(item: $marking) { p in MarkupView(service: service, sha256: p.id) { marking = nil } }
            .cameraRefusedAlert(isPresented: $cameraRefused)
            .sheet(item: $pending) { p in
                if p == .sign {
                    SignaturePad { png in model.signForReceipt(signaturePng: png); pending = nil }
                } else {
                    NavigationStack {
                        Form { TextField("notice.reason", text: $text, axis: .vertical).lineLimit(2...6) }
                            .toolbar {
                                Button("confirm") {
                                    switch p {
                                    case .fix: model.reportFix(note: text)
                                    case .dispute: model.dispute(reason: text)
                                    case .verifyPass: model.verify(pass: true, reason: text)
                                    case .verifyFail: model.verify(pass: false, reason: text)
                                    case .corrective: model.correctiveAction(report: text)
                                    case .sign: break
                                    }
                                    text = ""
                                    pending = nil
                                }
                            }
                    }
                }
            }
        }

        /// The camera once it may be used, else why it cannot be.
        private func openCamera() {
            Task { @MainActor in
                if await CameraAccess.allowed() { camera = true } else { cameraRefused = true }
            }
        }
    }
}

/// A signature drawn with a finger or Apple Pencil (PencilKit), exported as PNG.
struct SignaturePad: View {
    let onSigned: (Data) -> Void
    @State private var canvas = PKCanvasView()

    var body: some View {
        NavigationStack {
            CanvasView(canvas: canvas)
                .background(Color.white)
                .frame(height: 240)
                .border(Color.gray)
                .padding()
                .navigationTitle(Text("notice.signHere"))
                .toolbar {
                    Button("clear") { canvas.drawing = PKDrawing() }
                    Button("confirm") {
                        let bounds = canvas.bounds
                        let image = UIGraphicsImageRenderer(bounds: bounds).image { ctx in
                            UIColor.white.setFill()
                            ctx.fill(bounds)
                            canvas.drawing.image(from: bounds, scale: 1).draw(in: bounds)
                        }
                        if let png = image.pngData(), !canvas.drawing.strokes.isEmpty { onSigned(png) }
                    }
                }
        }
    }

    private struct CanvasView: UIViewRepresentable {
        let canvas: PKCanvasView
        func makeUIView(context: Context) -> PKCanvasView {
            canvas.drawingPolicy = .anyInput
            canvas.tool = PKInkingTool(.pen, color: .black, width: 4)
            canvas.backgroundColor = .white
            return canvas
        }
        func updateUIView(_ view: PKCanvasView, context: Context) {}
    }
}
