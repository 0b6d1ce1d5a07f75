$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
function Say([string]$Text) { Write-Host $Text }
function Ok([string]$Why) { Write-Host "result: done: $Why"; exit 0 }
function Fail([string]$Why) { Write-Host "result: failed: $Why"; exit 1 }
function Refuse([string]$Why) { Write-Host "result: refused: $Why"; exit 2 }
function Skip([string]$Why) { Write-Host "result: nothing to do: $Why"; exit 3 }
function Get-Param([string]$Name, [string]$Pattern, [string]$Default = '') {
    # $Name, or $Default when empty; refused unless it matches (case-sensitive, one line)
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrEmpty($value)) { $value = $Default }
    if ($value -match '[\r\n]' -or $value -cnotmatch $Pattern) { Refuse "$Name does not match $Pattern" }
    return $value
}
# --- end of the common part
