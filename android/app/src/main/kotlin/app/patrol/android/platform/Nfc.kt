// NFC tags read while the app is in front (reader mode: no intent filters, no chooser),
// published as ids in the protocol's spelling.
package app.patrol.android.platform

import android.app.Activity
import android.nfc.NfcAdapter
import app.patrol.logic.nfcSpelling
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow

object NfcTags {
    private val _tags = MutableSharedFlow<String>(extraBufferCapacity = 4)
    val tags: SharedFlow<String> = _tags.asSharedFlow()

    private const val FLAGS = NfcAdapter.FLAG_READER_NFC_A or NfcAdapter.FLAG_READER_NFC_B or
        NfcAdapter.FLAG_READER_NFC_F or NfcAdapter.FLAG_READER_NFC_V or NfcAdapter.FLAG_READER_SKIP_NDEF_CHECK

    fun enable(activity: Activity) {
        NfcAdapter.getDefaultAdapter(activity)?.enableReaderMode(activity, { tag ->
            _tags.tryEmit(nfcSpelling(tag.id))
        }, FLAGS, null)
    }

    fun disable(activity: Activity) {
        NfcAdapter.getDefaultAdapter(activity)?.disableReaderMode(activity)
    }

    fun available(activity: Activity): Boolean = NfcAdapter.getDefaultAdapter(activity)?.isEnabled == true
}
