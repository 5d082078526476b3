"""Stage 5, vehicle: a package sortie on a real autopilot over MAVLink.

link (one pymavlink connection: mission protocol with adaptive retransmission, parameters, modes),
readback (is what the vehicle holds what was sent), upload (pre-upload safety checks, upload and
verify), fly (arm, AUTO, follow to the ground) and player (the companion computer's speaker player).
"""
