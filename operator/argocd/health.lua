-- Argo CD health check for meshward.io/ServiceSecurityProfile
-- (argocd-cm key resource.customizations.health.meshward.io_ServiceSecurityProfile).
--
-- The one source of this script: operator/argocd/health.lua. `npm run gen` copies it into
-- docs/argocd.md, docs/argocd-cm-values.yaml and docs/argocd-cm.yaml.
--
-- Lua 5.1 as Argo CD runs it: the global `obj` is the live object, the chunk returns
-- {status=..., message=...}. Only the base and table libraries are loaded (no string or math
-- library unless useOpenLibs is set), so this script uses neither.
--
--   no status, or status.observedGeneration ~= metadata.generation  -> Progressing
--   Ready=True                                                        -> Healthy
--   Ready=False or Unknown (Drifted, Conflict, InvalidSpec, ...)      -> Degraded, Ready's message

local hs = {}

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local status = obj.status

local function describe(g)
  if g == nil then
    return "none"
  end
  return tostring(g)
end

if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for meshward to reconcile the profile (no status yet)"
  return hs
end

if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for meshward to reconcile generation " .. describe(generation) ..
    " (status is for generation " .. describe(status.observedGeneration) .. ")"
  return hs
end

local ready = nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for meshward to report the Ready condition"
  return hs
end

if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for meshward to reconcile generation " .. describe(generation) ..
    " (Ready is for generation " .. describe(ready.observedGeneration) .. ")"
  return hs
end

local message = ready.message
if message == nil or message == "" then
  message = "Ready=" .. describe(ready.status) .. " (" .. describe(ready.reason) .. ")"
end

if ready.status == "True" then
  hs.status = "Healthy"
else
  hs.status = "Degraded"
end
hs.message = message
return hs
