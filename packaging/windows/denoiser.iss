; Inno Setup script for Denoiser: a per-user installer (no administrator
; rights) for the PyInstaller onedir folder dist\Denoiser.
;
;   iscc /DAppVersion=1.2.3 packaging\windows\denoiser.iss
;
; Optional defines: /DDistDir=<onedir folder>  (default ..\..\dist\Denoiser)
; Options: /O<output folder>  /F<installer file name without .exe>
; packaging\build.py passes all of these.

#ifndef AppVersion
  #error Pass the version on the command line: iscc /DAppVersion=1.2.3 denoiser.iss
#endif
#ifndef DistDir
  #define DistDir "..\..\dist\Denoiser"
#endif
#define AppName "Denoiser"
#define AppExe "Denoiser.exe"
#define AppIcon SourcePath + "..\..\resources\icons\app.ico"

[Setup]
; AppId identifies the product to Windows for upgrades and uninstalling;
; never change it once an installer has been released.
AppId={{A9360B42-93D5-459D-B9F6-34D627D9D1BC}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Denoiser contributors
; Per-user install: {autopf} becomes %LOCALAPPDATA%\Programs and shortcuts
; go to the user's own Start menu and desktop.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
; torch ships 64-bit only.
ArchitecturesAllowed=x64
ArchitecturesInstallIn64BitMode=x64
OutputDir=..\..\dist\installer
OutputBaseFilename=Denoiser-{#AppVersion}-windows-x64-setup
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName={#AppName} {#AppVersion}
; torch and Qt 6 need Windows 10 1809 or later.
MinVersion=10.0.17763
; A version resource on the installer; the executables get theirs from the spec.
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} installer
UninstallDisplayIcon={app}\{#AppExe}
#if FileExists(AppIcon)
SetupIconFile={#AppIcon}
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; Clear the previous version's bundled files so no stale library survives an upgrade.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
{ torch's native libraries need the Microsoft Visual C++ 2015-2022 runtime (x64). }
function VCRuntimeInstalled(): Boolean;
var
  Installed: Cardinal;
begin
  Result := RegQueryDWordValue(HKLM64, 'SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64', 'Installed', Installed)
            and (Installed = 1);
end;

function InitializeSetup(): Boolean;
begin
  Result := True;
  if not VCRuntimeInstalled() then
    if MsgBox('Denoiser needs the Microsoft Visual C++ Redistributable (x64), which is not installed.' + #13#10 + #13#10 +
              'Install it from https://aka.ms/vs/17/release/vc_redist.x64.exe (no restart needed), then run this setup again.' + #13#10 + #13#10 +
              'Continue anyway?', mbConfirmation, MB_YESNO) = IDNO then
      Result := False;
end;

{ On uninstall, ask before deleting the user's own models and settings (they survive an upgrade). }
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir, SettingsDir: String;
begin
  if CurUninstallStep = usPostUninstall then
  begin
    DataDir := ExpandConstant('{localappdata}\Denoiser');
    SettingsDir := ExpandConstant('{userappdata}\Denoiser');
    if (DirExists(DataDir) or DirExists(SettingsDir)) and
       (MsgBox('Also delete your own trained models and Denoiser''s settings?' + #13#10 + DataDir,
               mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES) then
    begin
      DelTree(DataDir, True, True, True);
      DelTree(SettingsDir, True, True, True);
    end;
  end;
end;
