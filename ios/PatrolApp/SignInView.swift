// Sign in: server address, login, password. The core keeps the tokens.
import PatrolKit
import SwiftUI

struct SignInView: View {
    @ObservedObject var model: SessionModel
    @AppStorage("server") private var server = "https://"
    @State private var login = ""
    @State private var password = ""

    var body: some View {
        Form {
            Section(header: Text("signin.title")) {
                TextField("signin.server", text: $server).keyboardType(.URL).textInputAutocapitalization(.never).autocorrectionDisabled()
                TextField("signin.login", text: $login).textInputAutocapitalization(.never).autocorrectionDisabled()
                SecureField("signin.password", text: $password)
            }
            FailureBanner(failure: model.failure) { model.failure = nil }
            Button {
                model.signIn(server: server, login: login, password: password)
            } label: {
                if model.busy { ProgressView() } else { Text("signin.button") }
            }
            .disabled(model.busy || login.isEmpty || password.isEmpty)
        }
    }
}
