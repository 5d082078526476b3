-- patrol_speaker.lua: plays patrol's warnings on a serial MP3/WAV speaker module and reports each play.
--
-- Install: copy to the autopilot's APM/scripts/ folder, set SCR_ENABLE=1 and reboot. For the speaker,
-- set one SERIALn_PROTOCOL=28 (Scripting) on the port wired to a DFPlayer-protocol module (9600 baud,
-- SD card holding sd/NNNN.wav from `patrol prompts build`). Without such a port the applet still
-- reports every cue, so a companion computer running `patrol broadcast` can play it instead.
--
-- The mission drives it with MAV_CMD_DO_SEND_SCRIPT_MESSAGE (received with mission_receive()):
--   param1 = action: 1 loop a track, 2 stop, 3 play a track param3 times
--   param2 = track number (the clip's number in the prompt build manifest)
--   param3 = repeats (action 3)
--   param4 = clip length in seconds (the gap before a repeat is this plus one second)
-- After a play (a hotspot warning) the applet resumes the prompt that was looping, reported as "resume".
-- Each cue is reported three ways:
--   STATUSTEXT (severity INFO) "PTRL <loop|stop|play|resume> <track> <repeats>" -> .tlog, ground station
--   NAMED_VALUE_FLOAT "PTRL_TRK" = track (0 on stop)                       -> .tlog, plots
--   DataFlash message PTRL (Act, Trk, Rep)                                  -> .bin log
-- Bindings used (all listed in ArduPilot's libraries/AP_Scripting/docs/docs.lua): mission_receive,
-- serial:find_serial, begin, write, gcs:send_text, gcs:send_named_float, logger:write, millis.

local MAV_SEVERITY_INFO = 6
local MAV_SEVERITY_WARNING = 4
local ACTIONS = { [1] = "loop", [2] = "stop", [3] = "play", [4] = "resume" }

local port = serial:find_serial(0)
if port then
  port:begin(9600)
end

-- DFPlayer frame: 7E FF 06 CMD 00 PH PL CH CL EF, checksum = -(FF + 06 + CMD + 00 + PH + PL)
local function dfplayer(cmd, arg)
  if not port then
    return
  end
  local ph = (arg >> 8) & 0xFF
  local pl = arg & 0xFF
  local sum = (0x10000 - (0xFF + 0x06 + cmd + 0x00 + ph + pl)) & 0xFFFF
  local bytes = { 0x7E, 0xFF, 0x06, cmd, 0x00, ph, pl, (sum >> 8) & 0xFF, sum & 0xFF, 0xEF }
  for _, b in ipairs(bytes) do
    port:write(b)
  end
end

local DF_PLAY, DF_LOOP_TRACK, DF_STOP = 0x03, 0x08, 0x16

local pending_track = 0   -- action 3: track still to repeat
local pending_left = 0    -- plays left after the current one
local pending_gap_ms = 0  -- time of the next repeat
local repeat_gap_ms = 8000
local loop_track = 0      -- the prompt looping over the compound, resumed after a play
local resume_ms = 0       -- when to resume it (0: nothing to resume)

local function report(action, track, repeats)
  gcs:send_text(MAV_SEVERITY_INFO, string.format("PTRL %s %d %d", ACTIONS[action] or "?", track, repeats))
  gcs:send_named_float("PTRL_TRK", track)
  logger:write("PTRL", "Act,Trk,Rep", "BHB", action, track, repeats)
end

if not port then
  gcs:send_text(MAV_SEVERITY_WARNING, "PTRL no speaker port (SERIALn_PROTOCOL=28): reporting only")
end

local function update()
  local t, p1, p2, p3, p4 = mission_receive()
  if t then
    local action = math.floor(p1 + 0.5)
    local track = math.floor(p2 + 0.5)
    local repeats = math.floor(p3 + 0.5)
    if action == 1 then
      dfplayer(DF_LOOP_TRACK, track)
      loop_track = track
      pending_left = 0
      resume_ms = 0
    elseif action == 2 then
      dfplayer(DF_STOP, 0)
      loop_track = 0
      pending_left = 0
      resume_ms = 0
      track = 0
    elseif action == 3 then
      dfplayer(DF_PLAY, track)
      pending_track = track
      pending_left = math.max(repeats - 1, 0)
      if p4 and p4 > 0 then
        repeat_gap_ms = math.floor(p4 * 1000) + 1000
      end
      pending_gap_ms = millis():toint() + repeat_gap_ms
      resume_ms = millis():toint() + repeat_gap_ms * math.max(repeats, 1)
    end
    report(action, track, repeats)
  elseif pending_left > 0 and millis():toint() >= pending_gap_ms then
    dfplayer(DF_PLAY, pending_track)
    pending_left = pending_left - 1
    pending_gap_ms = millis():toint() + repeat_gap_ms
  elseif resume_ms > 0 and pending_left == 0 and millis():toint() >= resume_ms then
    resume_ms = 0
    if loop_track > 0 then
      dfplayer(DF_LOOP_TRACK, loop_track)
      report(4, loop_track, 0)
    end
  end
  return update, 100
end

return update, 1000
