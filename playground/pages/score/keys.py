"""The Score page's controls: session-only canonical values (state.bind() works on them)."""

SC_PASTED = "sc_pasted"
SCORE_DEFAULTS = {SC_PASTED: ""}
SC_UPLOADER = "sc_upload"  # widget key (a file uploader holds no canonical value)
