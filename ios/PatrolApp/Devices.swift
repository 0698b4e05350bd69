// The phone's sensors for a run: QR codes through AVFoundation, NFC tags through Core
// NFC, positions through Core Location (with background updates while a run is open),
// photos through the camera.
import AVFoundation
import CoreLocation
import CoreNFC
import PatrolKit
import SwiftUI
import UIKit

// MARK: QR

struct QRScannerView: UIViewControllerRepresentable {
    let onCode: (String) -> Void

    func makeUIViewController(context: Context) -> ScannerController {
        let c = ScannerController()
        c.onCode = onCode
        return c
    }
    func updateUIViewController(_ controller: ScannerController, context: Context) {}

    final class ScannerController: UIViewController, AVCaptureMetadataOutputObjectsDelegate {
        var onCode: ((String) -> Void)?
        private let session = AVCaptureSession()
        private var preview: AVCaptureVideoPreviewLayer?
        private var delivered = false

        override func viewDidLoad() {
            super.viewDidLoad()
            view.backgroundColor = .black
            guard let camera = AVCaptureDevice.default(for: .video),
                  let input = try? AVCaptureDeviceInput(device: camera), session.canAddInput(input) else { return }
            session.addInput(input)
            let output = AVCaptureMetadataOutput()
            guard session.canAddOutput(output) else { return }
            session.addOutput(output)
            output.setMetadataObjectsDelegate(self, queue: .main)
            output.metadataObjectTypes = [.qr]
            let preview = AVCaptureVideoPreviewLayer(session: session)
            preview.videoGravity = .resizeAspectFill
            view.layer.addSublayer(preview)
            self.preview = preview
            DispatchQueue.global(qos: .userInitiated).async { self.session.startRunning() }
        }

        // The sheet's final size is known here, not in viewDidLoad.
        override func viewDidLayoutSubviews() {
            super.viewDidLayoutSubviews()
            preview?.frame = view.layer.bounds
        }

        override func viewWillDisappear(_ animated: Bool) {
            super.viewWillDisappear(animated)
            session.stopRunning()
        }

        func metadataOutput(_ output: AVCaptureMetadataOutput, didOutput objects: [AVMetadataObject], from connection: AVCaptureConnection) {
            guard !delivered, let code = (objects.first as? AVMetadataMachineReadableCodeObject)?.stringValue else { return }
            delivered = true
            session.stopRunning()
            onCode?(code)
        }
    }
}

// MARK: NFC

/// Reads one tag's id and hands it back in the protocol's spelling. Checkpoint tags are
/// NFC Forum NDEF tags on ISO 14443 (NTAG/MIFARE Ultralight, which Core NFC reports as
/// MIFARE; Type 4 tags, reported as ISO 7816 through the NDEF application id listed in
/// Info.plist), so only ISO 14443 is polled: polling FeliCa (`.iso18092`) without
/// `com.apple.developer.nfc.readersession.felica.systemcodes` in Info.plist makes the
/// session fail to start, and checkpoints use no FeliCa or ISO 15693 tags.
final class NFCReader: NSObject, NFCTagReaderSessionDelegate {
    private var session: NFCTagReaderSession?
    private var onTag: ((String) -> Void)?

    static var available: Bool { NFCTagReaderSession.readingAvailable }

    func scan(prompt: String, onTag: @escaping (String) -> Void) {
        self.onTag = onTag
        session = NFCTagReaderSession(pollingOption: [.iso14443], delegate: self)
        session?.alertMessage = prompt
        session?.begin()
    }

    func tagReaderSessionDidBecomeActive(_ session: NFCTagReaderSession) {}
    func tagReaderSession(_ session: NFCTagReaderSession, didInvalidateWithError error: Error) { self.session = nil }

    func tagReaderSession(_ session: NFCTagReaderSession, didDetect tags: [NFCTag]) {
        guard let tag = tags.first else { return }
        session.connect(to: tag) { error in
            if error != nil { session.invalidate(errorMessage: NSLocalizedString("run.nfcFailed", comment: "")); return }
            let id: Data
            switch tag {
            case let .miFare(t): id = t.identifier
            case let .iso7816(t): id = t.identifier
            default: session.invalidate(); return // not polled for
            }
            session.invalidate()
            let spelled = nfcSpelling(id)
            DispatchQueue.main.async { self.onTag?(spelled) }
        }
    }
}

// MARK: Location

@MainActor
final class LocationTracker: NSObject, ObservableObject, CLLocationManagerDelegate {
    @Published private(set) var fix: Fix?
    /// Location refused, restricted, or allowed only approximately (off by a kilometre or
    /// more): no GPS check-in and no track; the run screen says so.
    @Published private(set) var refused = false
    private let manager = CLLocationManager()
    var onFix: ((Fix) -> Void)?

    override init() {
        super.init()
        manager.delegate = self
        manager.desiredAccuracy = kCLLocationAccuracyBest
        manager.distanceFilter = 3
        manager.activityType = .fitness
    }

    /// Starts updates; with `background`, keeps them while the app is in the background
    /// (the blue indicator tells the person the track is being recorded).
    func start(background: Bool) {
        manager.requestWhenInUseAuthorization()
        manager.allowsBackgroundLocationUpdates = background
        manager.showsBackgroundLocationIndicator = background
        manager.startUpdatingLocation()
    }

    func stop() { manager.stopUpdatingLocation() }

    // Called when the manager is made and whenever the person changes the permission.
    nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        let status = manager.authorizationStatus
        let approximate = manager.accuracyAuthorization == .reducedAccuracy
        let noPrecise = status == .denied || status == .restricted
            || ((status == .authorizedWhenInUse || status == .authorizedAlways) && approximate)
        Task { @MainActor in self.refused = noPrecise }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        guard let l = locations.last else { return }
        let f = Fix(latitude: l.coordinate.latitude, longitude: l.coordinate.longitude,
                    accuracyM: l.horizontalAccuracy < 0 ? 999 : l.horizontalAccuracy,
                    timeMs: Int64(l.timestamp.timeIntervalSince1970 * 1000))
        Task { @MainActor in
            self.fix = f
            self.onFix?(f)
        }
    }
}

// MARK: Camera

/// The camera permission, asked at the tap wherever the camera is used (QR scan, photos).
/// Without it the QR scanner shows a black screen and the camera picker an empty one,
/// with nothing said; refused, the screen shows `cameraRefusedAlert` instead.
enum CameraAccess {
    /// Whether the camera may be used; asks the person the first time.
    @MainActor static func allowed() async -> Bool {
        // No camera (a simulator): the picker opens the photo library, which asks nothing.
        guard UIImagePickerController.isSourceTypeAvailable(.camera) else { return true }
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: return true
        case .notDetermined: return await AVCaptureDevice.requestAccess(for: .video)
        default: return false
        }
    }
}

extension View {
    /// Says that the camera is not allowed and where to allow it, with a way to Settings.
    @MainActor func cameraRefusedAlert(isPresented: Binding<Bool>) -> some View {
        alert("camera.refused", isPresented: isPresented) {
            Button("camera.openSettings") {
                if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
            }
            Button("cancel", role: .cancel) {}
        } message: {
            Text("camera.refusedMessage")
        }
    }
}

/// The system camera; hands back JPEG bytes (the core scales, orients and watermarks).
struct CameraPicker: UIViewControllerRepresentable {
    let onPhoto: (Data) -> Void
    @Environment(\.dismiss) private var dismiss

    func makeUIViewController(context: Context) -> UIImagePickerController {
        let p = UIImagePickerController()
        p.sourceType = UIImagePickerController.isSourceTypeAvailable(.camera) ? .camera : .photoLibrary
        p.delegate = context.coordinator
        return p
    }
    func updateUIViewController(_ controller: UIImagePickerController, context: Context) {}
    func makeCoordinator() -> Coordinator { Coordinator(self) }

    final class Coordinator: NSObject, UIImagePickerControllerDelegate, UINavigationControllerDelegate {
        let parent: CameraPicker
        init(_ parent: CameraPicker) { self.parent = parent }
        func imagePickerController(_ picker: UIImagePickerController, didFinishPickingMediaWithInfo info: [UIImagePickerController.InfoKey: Any]) {
            if let image = info[.originalImage] as? UIImage, let jpeg = image.jpegData(compressionQuality: 0.9) {
                parent.onPhoto(jpeg)
            }
            parent.dismiss()
        }
        func imagePickerControllerDidCancel(_ picker: UIImagePickerController) { parent.dismiss() }
    }
}

/// A photo of this phone's store as a thumbnail; others' photos are on the server only.
/// With `markup`, each photo taken on this phone (its original is here) has a
/// "标注 / Mark up" button that opens its markup.
struct Thumbnails: View {
    let shas: [String]
    var markup: ((String) -> Void)? = nil
    var body: some View {
        ScrollView(.horizontal) {
            HStack {
                ForEach(shas, id: \.self) { sha in
                    if let markup, PhotoFiles.isHere(sha) {
                        Button { markup(sha) } label: {
                            VStack(spacing: 2) {
                                thumb(sha)
                                Text("photo.markup").font(.caption2)
                            }
                        }
                        // In a List or Form row, each button takes only its own taps.
                        .buttonStyle(.borderless)
                    } else {
                        thumb(sha)
                    }
                }
            }
        }
    }

    @ViewBuilder private func thumb(_ sha: String) -> some View {
        if let img = UIImage(contentsOfFile: PhotoFiles.thumb(sha).path) {
            Image(uiImage: img).resizable().scaledToFill().frame(width: 64, height: 64).clipped()
        } else {
            Text(sha.prefix(6)).font(.caption2).frame(width: 64, height: 64).background(Color.gray.opacity(0.2))
        }
    }
}
