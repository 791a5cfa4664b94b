"""The Score page's controls: session-only canonical values (state.bind() works on them)."""

SC_PASTED = "sc_pasted"
SCORE_DEFAULTS = {SC_PASTED: ""}
SC_UPLOADER = "sc_upload"  # widget key (a file uploader holds no canonical value)
SC_SOURCE = "sc_source"  # radio, shown when both a file and pasted text are there: which one is scored
SC_ADAPT = "sc_adapt"  # the "adapt while reading" toggle (a widget key: its value lives in the session)
SC_ADAPTED = "_sc_adapted"  # (model and text digest, the adapted ScoreResult): the last one only
