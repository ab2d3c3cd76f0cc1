-- Argo CD health check for meshward.io/ServiceSecurityProfile
-- (argocd-cm key resource.customizations.health.meshward.io_ServiceSecurityProfile).
--
-- Source: argocd/resource_customizations/meshward.io/ServiceSecurityProfile/health.lua in the
-- meshward repository, laid out as in Argo CD's resource_customizations/. `npm run gen` copies it
-- into docs/argocd.md, docs/argocd-cm-values.yaml and docs/argocd-cm.yaml.
--
-- The global `obj` is the live object; the chunk returns {status=..., message=...}. It uses only
-- the base and table libraries, so it runs the same as an argocd-cm entry (no standard
-- libraries: no string or math, strings have no methods) and as a built-in script (all of them).
--
--   no status, or status.observedGeneration ~= metadata.generation  -> Progressing
--   Ready=False or Unknown (Drifted, Conflict, SecretSyncFailed, ...) -> Degraded, Ready's message
--   Ready=True, SecretsReady=False                                    -> Degraded, SecretsReady's message
--   Ready=True, SecretsReady=Unknown (ESO has not synced a secret yet) -> Progressing, SecretsReady's message
--   Ready=True otherwise                                              -> Healthy
--
-- A secret External Secrets Operator cannot sync makes Ready False (reason SecretSyncFailed) with
-- SecretsReady's message: the secret, its remote key, the store and ESO's reason.
--
-- Each check below returns a health when it decides, or nil to leave it to the next one; they run
-- in the order of `checks` at the end. A new rule is one more function in that list.

local function describe(value)
  if value == nil then
    return "none"
  end
  return tostring(value)
end

local function generationOf(o)
  if o.metadata == nil then
    return nil
  end
  return o.metadata.generation
end

local function condition(status, conditionType)
  if status.conditions == nil then
    return nil
  end
  local found = nil
  for _, c in ipairs(status.conditions) do
    if c.type == conditionType then
      found = c
    end
  end
  return found
end

-- Progressing until meshward has written a status for the current generation.
local function notReconciledYet(o)
  local generation = generationOf(o)
  if o.status == nil then
    return { status = "Progressing", message = "Waiting for meshward to reconcile the profile (no status yet)" }
  end
  if generation ~= nil and o.status.observedGeneration ~= generation then
    return {
      status = "Progressing",
      message = "Waiting for meshward to reconcile generation " .. describe(generation) ..
        " (status is for generation " .. describe(o.status.observedGeneration) .. ")",
    }
  end
  return nil
end

-- Progressing until the Ready condition is there and is about the current generation.
local function readyNotReported(o)
  local generation = generationOf(o)
  local ready = condition(o.status, "Ready")
  if ready == nil then
    return { status = "Progressing", message = "Waiting for meshward to report the Ready condition" }
  end
  if generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration ~= generation then
    return {
      status = "Progressing",
      message = "Waiting for meshward to reconcile generation " .. describe(generation) ..
        " (Ready is for generation " .. describe(ready.observedGeneration) .. ")",
    }
  end
  return nil
end

-- A condition's message, or its status and reason when it has none.
local function messageOf(c)
  if c.message == nil or c.message == "" then
    return c.type .. "=" .. describe(c.status) .. " (" .. describe(c.reason) .. ")"
  end
  return c.message
end

-- Degraded unless Ready=True; the message is Ready's, word for word.
local function readyFalse(o)
  local ready = condition(o.status, "Ready")
  if ready.status == "True" then
    return nil
  end
  return { status = "Degraded", message = messageOf(ready) }
end

-- Ready=True, but External Secrets Operator has not synced every secret: Degraded if one cannot be
-- synced, Progressing while one is not synced yet; the message is SecretsReady's.
local function secretsNotReady(o)
  local secrets = condition(o.status, "SecretsReady")
  if secrets == nil or secrets.status == "True" then
    return nil
  end
  if secrets.status == "False" then
    return { status = "Degraded", message = messageOf(secrets) }
  end
  return { status = "Progressing", message = messageOf(secrets) }
end

local function healthy(o)
  return { status = "Healthy", message = messageOf(condition(o.status, "Ready")) }
end

local checks = { notReconciledYet, readyNotReported, readyFalse, secretsNotReady, healthy }

local hs = {}
for _, check in ipairs(checks) do
  local decided = check(obj)
  if decided ~= nil then
    hs = decided
    break
  end
end
return hs
