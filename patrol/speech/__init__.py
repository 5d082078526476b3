"""Stage 2, speech: the warnings residents hear, and the mission commands that trigger them.

catalogue (TOML prompts and rules) -> engines (text-to-speech) and recorded clips -> audio
(loudness, trimming, WAV) -> build (a folder of clips, through the content-addressed cache) ->
cues (speaker commands for the Lua applet, relays or a servo) -> broadcast (what a plan takes: the
cue encoder and the clip timing). It comes before planning because the clips decide the plan: the
heard-whole window is twice the longest looped clip, and hotspot loiters last their repeats.
"""
