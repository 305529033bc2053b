"""English for the pages, gettext-style: msgid is the Chinese source text as written in the
templates, scripts' strings (``app.web.i18n.JS_STRINGS``) and page handlers.

``tests/web/test_pages.py`` fails when a Chinese string of a page has no entry here.
"""

from __future__ import annotations

EN: dict[str, str] = {
    # layout
    "技能培训学习平台": "Skills Training",
    "主导航": "Main navigation",
    "我的课程": "My courses",
    "选课": "Courses",
    "培训档案": "My record",
    "退出": "Sign out",
    "登录": "Sign in",
    "注册": "Register",
    "如遇问题请联系您的培训机构": "If anything goes wrong, contact your training institution",
    "无法打开页面": "This page cannot be shown",
    "返回首页": "Back to the start page",
    "这些页面供学员使用。培训机构工作人员请使用“考勤审核”页面。": (
        "These pages are for learners. Institution staff: please use the attendance review page."
    ),
    "提交的内容有误，请检查后重试。": "Something in the form is not valid; check it and try again.",
    # sign-up and sign-in
    "用户名": "Username",
    "密码": "Password",
    "还没有账号？": "No account yet?",
    "实名注册": "Register with your real name",
    "已有账号？": "Already registered?",
    "补贴性职业技能培训要求实名参加，请填写与身份证一致的姓名和号码。": (
        "Subsidised vocational training requires your real name: enter your name and number "
        "exactly as on your resident ID card."
    ),
    "真实姓名": "Real name",
    "身份证号码": "Resident ID number",
    "18 位，最后一位可能是 X": "18 characters; the last one may be X",
    "3–64 位字母、数字或 _ . @ -": "3–64 letters, digits or _ . @ -",
    "至少 8 位，不要使用常见密码": "At least 8 characters, not a common password",
    "手机号码（选填）": "Mobile number (optional)",
    "人员类别（选填）": "Group (optional)",
    "请选择": "Choose",
    "请填写用户名、密码、姓名和身份证号码。": (
        "Fill in your username, password, real name and ID number."
    ),
    "企业职工": "Enterprise employee",
    "农民工": "Rural migrant worker",
    "两后生（未升学的初高中毕业生）": "School leaver (not continuing to higher education)",
    "失业人员": "Unemployed",
    "退役军人": "Ex-serviceman",
    "就业困难人员（含残疾人）": "Person with employment difficulties (incl. disabled)",
    "高校毕业生": "College graduate",
    "脱贫劳动力": "Labourer lifted out of poverty",
    "其他": "Other",
    "身份证号码应为 18 位，最后一位可以是数字或 X。": (
        "An ID number has 18 characters; the last may be a digit or X."
    ),
    "身份证号码中的出生日期无效。": "The birth date inside the ID number is not valid.",
    "身份证号码校验位不正确，请逐位核对。": (
        "The check character of the ID number is wrong; compare it digit by digit."
    ),
    "号码格式正确（最终以服务器核验为准）。": "Looks right (the server checks it again).",
    # consent
    "人脸信息处理说明": "How your face data is used",
    "您已同意（版本 %s）。": "You have agreed (version %s).",
    "您尚未同意。线上学习的签到、点名和考试需要人脸验证。": (
        "You have not agreed yet. Online check-in, roll-calls and quizzes need a face check."
    ),
    "同意书原文": "Full consent text (Chinese)",
    "我已阅读并同意": "I have read this and agree",
    "下一步：采集人脸": "Next: enrol your face",
    "撤回同意并删除人脸特征": "Withdraw consent and delete my face data",
    # face
    "人脸采集": "Face enrolment",
    "摄像头预览": "Camera preview",
    "您已完成人脸采集（%s）。如需重新采集，可再做一次。": (
        "Your face is enrolled (%s). You can enrol again if needed."
    ),
    "采集一次即可，之后签到、点名和考试都用它比对。": (
        "Enrol once; check-in, roll-calls and quizzes are compared with it."
    ),
    "光线充足，正对摄像头，脸部占画面的一半左右；摘下口罩和帽子。": (
        "Find good light and face the camera, your face filling about half the picture; "
        "take off masks and hats."
    ),
    "点击下方按钮，按屏幕上的文字提示做动作（眨眼或转头）。": (
        "Press the button below and do what the words on the screen say (blink or turn your head)."
    ),
    "拍摄约 1.5 秒，完成后自动上传核验。": (
        "The camera records about 1.5 seconds and sends it for checking."
    ),
    "开始采集": "Start",
    "去选课": "Choose a course",
    "线上学习需要人脸验证。": "Online study needs a face check.",
    "请先阅读并同意人脸信息处理说明": "Read and accept how your face data is used first",
    "您还没有采集人脸。": "You have not enrolled your face yet.",
    "去采集": "Enrol now",
    # courses
    "暂无开放的课程。": "No courses are open yet.",
    "要求学时 %d 分钟": "%d minutes of study",
    "合格分数 %d": "pass mark %d",
    "继续学习": "Continue studying",
    "查看并报名": "View and enrol",
    "要求有效学时": "Verified study time required",
    "%d 分钟": "%d min",
    "考试": "Quiz",
    "%d 题，%d 分合格，最多 %d 次": "%d questions, pass mark %d, at most %d attempts",
    "随机点名": "Random roll-call",
    "学习期间不定时点名，需在 %d 秒内刷脸回应；通过率需达到 %d%%": (
        "Roll-calls come at random times while you study; answer each with your face within "
        "%d seconds. At least %d%% must pass."
    ),
    "进入学习": "Start studying",
    "报名本课程": "Enrol in this course",
    "课时": "Lessons",
    "您还没有报名课程。": "You have not enrolled in a course yet.",
    "有效学时 %d / %d 分钟": "Verified study time %d / %d min",
    "已完成": "Completed",
    "考试已通过": "Quiz passed",
    "学习中": "In progress",
    "学习": "Study",
    "进度": "Progress",
    # study
    "有效学时": "Verified study time",
    "请先刷脸签到，签到后开始计时。只在本页面处于前台时计时。": (
        "Check in with your face to start the clock. Time counts only while this page is in front."
    ),
    "刷脸签到，开始学习": "Check in with my face",
    "结束本次学习": "End this session",
    "打开视频": "Open the video",
    "请在倒计时结束前完成刷脸，否则本段学时不计入。": (
        "Show your face before the countdown ends, or this stretch of study time will not count."
    ),
    "开始点名验证": "Answer the roll-call",
    "请眨眼": "Please blink",
    "请向左转头": "Turn your head to the left",
    "请向右转头": "Turn your head to the right",
    "，然后": ", then ",
    "准备：请正对摄像头，看到提示后做动作": "Get ready: face the camera and do what it says",
    "正在拍摄，请做动作……": "Recording — do it now…",
    "正在上传并核验，请稍候……": "Checking, please wait…",
    "正在打开摄像头……": "Starting the camera…",
    "无法使用摄像头：权限被拒绝。请在浏览器地址栏允许使用摄像头后刷新页面；"
    "如无法使用摄像头，请联系培训机构采用线下签到等替代方式。": (
        "The camera is blocked. Allow the camera in the address bar and reload the page; if you "
        "cannot use a camera, ask your training institution for an alternative such as on-site "
        "sign-in."
    ),
    "没有找到摄像头。请换用带摄像头的手机或电脑；"
    "如无法使用摄像头，请联系培训机构采用线下签到等替代方式。": (
        "No camera was found. Use a phone or computer with a camera; if you cannot, ask your "
        "training institution for an alternative such as on-site sign-in."
    ),
    "摄像头无法启动，请关闭其他正在使用摄像头的程序后重试。": (
        "The camera did not start. Close other programs using it and try again."
    ),
    "网络连接失败，请检查网络后重试。": "No connection. Check your network and try again.",
    "操作未完成，请重试。": "That did not work. Please try again.",
    "重新验证": "Try again",
    "开始验证": "Start",
    "人脸采集成功！现在可以报名课程并开始学习。": (
        "Your face is enrolled! You can now enrol in a course and study."
    ),
    "签到成功，开始计时。请保持本页面在前台。": (
        "Checked in; the clock is running. Keep this page in front."
    ),
    "已暂停：点名未通过或超时，本段学时未计入。请重新刷脸签到后继续学习。": (
        "Paused: a roll-call failed or was missed and this stretch did not count. "
        "Check in again with your face to continue."
    ),
    "点名结果待人工审核，审核期间暂不计学时。请继续学习，审核通过后补记。": (
        "Your roll-call is waiting for staff review; time is held until they decide. "
        "Keep studying: it is credited if approved."
    ),
    "本次学习已结束。": "This study session has ended.",
    "页面不在前台，计时已暂停。回到本页面后自动继续。": (
        "This page is in the background, so the clock is paused. It resumes when you come back."
    ),
    "点名通过，学时已确认。": "Roll-call passed; your time is confirmed.",
    "点名未通过，学习已暂停。请重新刷脸签到后继续学习。": (
        "Roll-call failed; studying is paused. Check in again with your face to continue."
    ),
    "点名已提交人工审核。": "Your roll-call was sent to staff review.",
    "点名已超时，本次记为缺勤，学习已暂停。请重新刷脸签到后继续学习。": (
        "The roll-call timed out and counts as missed; studying is paused. "
        "Check in again with your face to continue."
    ),
    "剩余 {s} 秒": "{s} s left",
    "{m} 分 {s} 秒": "{m} min {s} s",
    "确定结束本次学习吗？结束后再次学习需要重新签到。": (
        "End this session? To study again you will check in again."
    ),
    "已结束学习，已确认的有效学时：{m} 分钟。": "Session ended. Confirmed study time: {m} min.",
    "原因：": "Reason: ",
    "再次签到继续学习": "Check in again",
    "人脸与报名时采集的不一致。": "The face is not the one enrolled.",
    "比对结果不确定，已提交人工审核。": "The match was uncertain; staff will review it.",
    # quiz
    "%d 题，%d 分合格，限时 %d 分钟；剩余考试次数 %d": (
        "%d questions, pass mark %d, %d minutes; attempts left: %d"
    ),
    "您已通过本课程考试（最高 %s 分）。": "You have passed this quiz (best score %s).",
    "考试前需刷脸核验身份。": "Your face is checked before the quiz starts.",
    "刷脸开始考试": "Check my face and start",
    "考试次数已用完。": "No attempts left.",
    "交卷": "Submit",
    "查看进度": "See progress",
    "返回学习": "Back to studying",
    "考试记录": "Attempts",
    "%d 分": "%d points",
    "通过": "passed",
    "未通过": "not passed",
    "未交卷": "not submitted",
    "验证通过，考试开始。请在截止时间前交卷。": (
        "Checked. The quiz has started; submit before time runs out."
    ),
    "剩余时间 {t}": "Time left {t}",
    "考试通过：{score} 分（答对 {correct}/{total} 题）。": (
        "Passed: {score} points ({correct} of {total} right)."
    ),
    "考试未通过：{score} 分（答对 {correct}/{total} 题，需 {pass} 分）。": (
        "Not passed: {score} points ({correct} of {total} right; {pass} needed)."
    ),
    "还有 {n} 道题未作答，确定交卷吗？": "{n} questions are unanswered. Submit anyway?",
    "【单选】": "[one answer]",
    "【多选】": "[one or more]",
    "【判断】": "[true or false]",
    # progress and record
    "学习进度": "Progress",
    "恭喜！您已完成本课程（%s）。": "Congratulations! You completed this course (%s).",
    "查看培训合格证明": "View the training certificate",
    "尚未完成。还差：": "Not complete yet. Still needed:",
    "%d / %d 分钟": "%d / %d min",
    "已通过（最高 %s 分）": "passed (best %s)",
    "未通过（最高 %s 分）": "not passed yet (best %s)",
    "未参加": "not taken",
    "通过 %d / %d 次（%d%%，要求 %d%%）": "%d of %d passed (%d%%; %d%% required)",
    "暂无点名": "none yet",
    "去考试": "Take the quiz",
    "我的培训档案": "My training record",
    "姓名": "Name",
    "培训记录": "Training",
    "暂无记录。": "Nothing yet.",
    "证书": "Certificate",
    "人脸验证记录": "Face checks",
    "时间": "Time",
    "类型": "Kind",
    "结果": "Result",
    "签到": "Check-in",
    "考试核验": "Quiz check",
    "合作平台核验": "Partner check",
    "待审核": "in review",
    "审核通过": "approved",
    "审核未通过": "rejected",
    # staff: attendance review
    "考勤审核": "Attendance review",
    "课程": "Courses",
    "此页面仅供培训机构工作人员使用。": "This page is for the staff of training institutions.",
    "审核列表": "Review lists",
    "待处理": "Pending",
    "已审核": "Decided",
    (
        "系统无法自动判断的人脸验证在此由人工审核。"
        "请对比截图，必要时联系学员核对身份证件，填写理由后作出决定；学员可以看到审核结果和理由。"
    ): (
        "Face checks the system could not decide on its own wait here for a person. Compare "
        "the crops, contact the learner to check their ID card if needed, and decide with a "
        "reason; the learner sees the decision and the reason."
    ),
    "暂无待审核的记录。": "Nothing is waiting for review.",
    "暂无已审核的记录。": "No decided reviews yet.",
    "未知学员": "Unknown learner",
    "本次验证的人脸截图": "Face crop of this check",
    "本次验证截图": "This check",
    "截图已过保存期限或未保存": "No crop: past its retention period or never stored",
    "该学员人脸采集时的截图": "Face crop taken when this learner enrolled",
    "该学员人脸采集截图": "This learner's enrolment",
    "本次即为该学员的人脸采集": "This check is the learner's face enrolment",
    "没有可查看的人脸采集截图": "No enrolment crop you can view",
    "疑似重复学员人脸采集时的截图": "Face crop taken when the possible duplicate enrolled",
    "疑似重复的学员：": "Possible duplicate of: ",
    (
        "这张人脸与另一位学员已采集的人脸距离为 %s，低于通过阈值 %s："
        "可能是同一人注册了两个账号，"
        "也可能是长相极为相似的两个人（如双胞胎）。批准后该学员的人脸采集生效。"
    ): (
        "This face is at distance %s from another learner's enrolled face, below the accept "
        "threshold %s: the same person may have registered twice, or two people look very "
        "alike (twins, say). Approving makes this learner's face enrolment take effect."
    ),
    (
        "与该学员采集的人脸相比，最小距离为 %s，中位距离为 %s，"
        "介于通过阈值 %s 与不通过阈值 %s 之间，系统无法自动确定是否本人。"
    ): (
        "Compared with this learner's enrolled face, the smallest distance is %s and the "
        "median %s: between the accept threshold %s and the reject threshold %s, so the system "
        "cannot tell on its own whether it is the learner."
    ),
    "比对距离：最小 %s，中位 %s；通过阈值 %s，不通过阈值 %s。": (
        "Distances: smallest %s, median %s; accept threshold %s, reject threshold %s."
    ),
    "距离越小越相似：不高于通过阈值自动通过，高于不通过阈值自动判为不一致。": (
        "The smaller the distance, the more alike: at or below the accept threshold a check "
        "passes by itself; above the reject threshold it fails as a different person."
    ),
    "审核理由（学员可见）": "Reason (the learner sees it)",
    "例如：已核对身份证件，确为本人": "e.g. ID card checked: it is the learner",
    "批准": "Approve",
    "驳回": "Reject",
    "审核理由": "Reason",
    "审核人": "Reviewed by",
    "请填写审核理由，再选择“批准”或“驳回”。": "Write a reason, then choose Approve or Reject.",
    "审核结果已保存：已批准。该记录已移至“已审核”。": (
        "Decision saved: approved. The item moved to Decided."
    ),
    "审核结果已保存：已驳回。该记录已移至“已审核”。": (
        "Decision saved: rejected. The item moved to Decided."
    ),
    # flashes
    "注册成功！请先阅读并确认人脸信息处理说明。": (
        "Registered! First, read how your face data is used."
    ),
    "登录成功。": "Signed in.",
    "您已安全退出。": "You are signed out.",
    "已同意人脸信息处理。下一步：采集人脸。": "Consent recorded. Next: enrol your face.",
    "已撤回同意，您的人脸特征已删除。如需继续线上学习，请重新同意并采集人脸。": (
        "Consent withdrawn and your face data deleted. To study online again, agree and enrol "
        "again."
    ),
    "报名成功！刷脸签到后即可开始学习。": "Enrolled! Check in with your face to start studying.",
    "您已报名该课程。": "You are already enrolled in this course.",
    "使用人脸验证前，请先阅读并同意人脸信息处理说明。": (
        "Before face checks, read and accept how your face data is used."
    ),
    "请先完成人脸采集。": "Enrol your face first.",
    "登录已过期，请重新登录。": "Your sign-in has expired; sign in again.",
    # ---- learner certificate page (stream F: /my/certificates/{serial})
    "培训合格证明": "Training certificate",
    "证书有效。任何人都可以扫描下方二维码或打开核验链接，查看证书的真伪和状态。": (
        "The certificate is valid. Anyone can scan the QR code below or open the verification "
        "link to check that it is genuine and in force."
    ),
    "此证书已于 %s 撤销。原因：%s": "This certificate was revoked on %s. Reason: %s",
    "证书编号": "Serial number",
    "培训课程": "Course",
    "职业（工种）": "Occupation",
    "等级": "Level",
    "%s 小时（%d 分钟，要求 %d 分钟），均经实名人脸核验": (
        "%s hours (%d minutes, %d required), all verified by real-name face checks"
    ),
    "%d 分（合格线 %d 分）": "%d points (pass mark %d)",
    "培训机构": "Training institution",
    "发证日期": "Issued on",
    "状态": "Status",
    "有效": "Valid",
    "已撤销": "Revoked",
    "下载 PDF": "Download PDF",
    "查看学习进度": "View progress",
    "核验二维码与链接": "Verification QR code and link",
    "证书核验二维码": "QR code to the certificate's verification page",
    "用手机扫描二维码，打开公开核验页面。PDF 上印有同一个二维码。": (
        "Scan the code with a phone to open the public verification page. The PDF carries the "
        "same code."
    ),
    "公开核验链接": "Public verification link",
    "复制链接": "Copy link",
    "已复制核验链接。": "Verification link copied.",
    "请长按或按 Ctrl+C 复制已选中的链接。": (
        "The link is selected: press and hold, or press Ctrl+C, to copy it."
    ),
    "打开核验页面": "Open the verification page",
    "核验页面公开显示证书状态、课程、学时和培训机构；姓名只显示部分文字，不显示身份证号码。": (
        "The verification page shows the status, course, hours and institution to anyone; it "
        "shows only part of the name and never the ID number."
    ),
    "职业培训补贴": "Vocational training subsidy",
    (
        "按现行规则，本证书符合职业培训补贴条件，补贴标准 %s 元。"
        "补贴由培训机构或人社部门按规定申领，以审核结果为准。"
    ): (
        "Under the current rules this certificate qualifies for the vocational training "
        "subsidy of %s yuan. The institution or the human resources bureau claims it as the "
        "rules require; their review decides."
    ),
    "按现行规则，本证书暂不符合职业培训补贴条件。各项规则如下：": (
        "Under the current rules this certificate does not qualify for the subsidy. The rules:"
    ),
    "符合": "Met",
    "不符合": "Not met",
    "证书有效": "Certificate valid",
    "考勤达标": "Attendance passed",
    "课程有补贴标准": "Course carries a subsidy",
    "每年不超过 3 次": "At most 3 a year",
    "同一职业同一等级不重复": "Not twice for one occupation and level",
    "电子凭证（数字签名）": "Signed digital credential",
    (
        "除 PDF 外，本证书还有一份带数字签名的电子凭证（Open Badges 3.0 / W3C 可验证凭证，"
        "JWT 格式）。您可以下载保存，或发给用人单位；"
        "对方用本平台公布的公钥即可核验它由培训机构签发、未被改动。"
    ): (
        "Besides the PDF, the certificate comes as a digitally signed credential (Open Badges "
        "3.0 / W3C Verifiable Credential, as a JWT). Keep it or send it to an employer: with "
        "the platform's published public key they can check that the institution issued it "
        "and nobody changed it."
    ),
    "下载电子凭证（.jwt）": "Download the credential (.jwt)",
    "平台公钥（JWKS）": "Platform public keys (JWKS)",
    "如何证明电子凭证属于您": "How to prove the credential is yours",
    (
        "电子凭证不含您的身份证号码，只含身份证号码加盐后的哈希值。"
        "需要时，向核验方出示身份证和下面的盐值，对方即可确认凭证属于您。请勿公开盐值。"
    ): (
        "The credential does not contain your ID number, only a salted hash of it. When asked, "
        "show your ID card and the salt below: the checker can then confirm the credential is "
        "yours. Do not publish the salt."
    ),
    # ---- No-camera fallback: continue the face check on a phone (stream C)
    (
        "无法使用摄像头：权限被拒绝。可以点击“用手机继续”，用手机扫码完成这次刷脸；"
        "或在浏览器地址栏允许使用摄像头后刷新页面。都无法使用时，请联系培训机构采用线下签到等替代方式。"
    ): (
        "The camera cannot be used: permission was refused. Click \u201cContinue on a phone\u201d "
        "and scan the code to do this face check on your phone, or allow the camera in the "
        "browser's address bar and reload the page. If neither works, ask your institution for "
        "its offline alternative (such as an in-person check-in)."
    ),
    (
        "没有找到摄像头。可以点击“用手机继续”，用手机扫码完成这次刷脸；"
        "都无法使用时，请联系培训机构采用线下签到等替代方式。"
    ): (
        "No camera was found. Click \u201cContinue on a phone\u201d and scan the code to do this "
        "face check on your phone. If that does not work either, ask your institution for its "
        "offline alternative (such as an in-person check-in)."
    ),
    "用手机继续": "Continue on a phone",
    "正在生成手机验证链接……": "Making the phone link\u2026",
    "等待手机打开链接……": "Waiting for the phone to open the link\u2026",
    "手机已打开链接，请在手机上按提示完成验证……": (
        "The phone opened the link. Follow the instructions on the phone\u2026"
    ),
    "手机上的验证未通过：{why} 可以在手机上重试。": (
        "The check on the phone did not pass: {why} You can try again on the phone."
    ),
    "链接 {t} 后失效": "The link expires in {t}",
    "验证通过！请回到电脑，电脑页面会自动继续。": (
        "Verified! Go back to the computer: its page continues by itself."
    ),
    "点名已提交，请回到电脑查看结果。": (
        "Roll-call answered. Go back to the computer to see the result."
    ),
    "请回到电脑继续。": "Go back to the computer to continue.",
    (
        "用手机扫描二维码，或在手机浏览器中打开下面的链接，在手机上完成这次刷脸。"
        "完成后本页会自动继续。"
    ): (
        "Scan the QR code with your phone, or open the link below in the phone's browser, and do "
        "this face check on the phone. This page continues by itself when it is done."
    ),
    "手机验证二维码": "QR code for the phone check",
    "手机验证": "Phone face check",
    "学员 %s 的%s": "%s \u2014 %s",
    "课程：%s": "Course: %s",
    "学习签到": "Study check-in",
    "考试前身份核验": "Identity check before the quiz",
    "请学员本人拿着手机，光线充足，正对前置摄像头。": (
        "The learner holds the phone in good light, facing the front camera."
    ),
    "验证通过后回到电脑，电脑页面会自动继续。": (
        "When it passes, go back to the computer: its page continues by itself."
    ),
    "此链接只能用于这一次验证，几分钟后失效。如果不是您本人发起的，请关闭本页。": (
        "This link works for this one check only and expires in a few minutes. If you did not "
        "ask for it, close this page."
    ),
    "如需再次用手机验证，请在电脑页面上重新点击“用手机继续”。": (
        "To use a phone again, click \u201cContinue on a phone\u201d on the computer's page again."
    ),
    # ---- regulator dashboard (/regulator, learner file, certificate lookup; app/web/regulator.py)
    "统计报表": "Reports",
    "监管看板": "Regulator dashboard",
    "证书查询": "Certificate lookup",
    (
        "各培训机构按月或按季度上报的培训人数、取证人数和补贴金额，疑似作弊线索及其证据，审计"
        "日志导出，证书核验。"
    ): (
        "What institutions report monthly or quarterly (learners trained, certificates, "
        "subsidy amounts), suspected fraud with its evidence, audit exports and certificate "
        "checks."
    ),
    (
        "本机构按月或按季度上报的培训人数、取证人数和补贴金额，疑似作弊线索及其证据，审计日志"
        "导出，证书核验。"
    ): (
        "Your institution's monthly or quarterly figures (learners trained, certificates, "
        "subsidy amounts), suspected fraud with its evidence, audit exports and certificate "
        "checks."
    ),
    "统计": "Figures",
    "疑似作弊": "Suspected fraud",
    "审计导出": "Audit export",
    "筛选": "Filter",
    "统计周期": "Period",
    "按月": "Monthly",
    "按季度": "Quarterly",
    "开始日期（含）": "From (inclusive)",
    "结束日期（不含）": "Until (exclusive)",
    "全部机构": "All institutions",
    "查看": "View",
    "应用筛选": "Apply",
    "日期均为北京时间；按机构、职业、等级和人员类别统计。": (
        "Dates are Beijing time; counted by institution, occupation, level and learner group."
    ),
    "生成时间": "Generated",
    "所选范围内没有数据。": "No data in the chosen range.",
    "明细：按期间、机构、职业、等级和人员类别": (
        "Detail: by period, institution, occupation, level and learner group"
    ),
    "期间": "Period",
    "人员类别": "Learner group",
    "合计": "Total",
    (
        "报名：期间内新建的报名；参训：至少 1 分钟经核验的有效学时（按首个计入学时的日期归期"
        "）；取得证书：期间内颁发且未撤销的证书；补贴金额按补贴规则逐张评估后合计。"
    ): (
        "Enrolled: enrolments made in the period. Trained: at least 1 verified minute (counted "
        "in the period of the first credited day). Certified: certificates issued in the "
        "period and not revoked. Subsidy: each certificate evaluated by the subsidy rules, "
        "then summed."
    ),
    "疑似作弊线索": "Suspected fraud",
    (
        "以下指标由系统根据已存储的记录自动计算，只是线索，需人工核实后再作处理。每条线索都列"
        "出了证据记录，可查看人脸截图和学员档案。"
    ): (
        "These indicators are computed from the stored records. They are leads, not verdicts: "
        "check them before acting. Each lists its evidence, with face crops and learner files."
    ),
    "发现 %s 条": "%s found",
    "未发现": "None found",
    "涉及学员": "Learners",
    "证据": "Evidence",
    "编号": "ID",
    "说明": "Details",
    "审计日志导出": "Audit log export",
    "审计链": "Audit chain",
    (
        "导出内容与 API 完全相同：按序号排列的全部审计记录，末尾附带签名的检查点。更换机构或"
        "日期请使用上方的筛选。"
    ): (
        "The same file as the API's: every audit entry in sequence order, ending with a signed "
        "checkpoint. Use the filter above to choose another institution or dates."
    ),
    "导出 NDJSON": "Export NDJSON",
    "导出 CSV": "Export CSV",
    "下载签名检查点": "Download signed checkpoint",
    "下载公钥（JWKS）": "Download public keys (JWKS)",
    "离线核验：下载导出文件和公钥后运行": (
        "To verify offline, download the export and the keys, then run"
    ),
    "；导出的时间段不是从第 1 条开始时，加上前一条记录的哈希": (
        "; for a window that does not start at entry 1, add the hash of the entry before it with"
    ),
    "查询": "Look up",
    "显示证书是否有效，以及补贴评估（逐条规则是否满足）。": (
        "Shows whether the certificate is valid and its subsidy evaluation, rule by rule."
    ),
    "本页内容": "On this page",
    "例如：DEMO01-2026-000001": "e.g. DEMO01-2026-000001",
    "学员档案": "Learner file",
    "← 返回疑似作弊线索": "← Back to suspected fraud",
    "所属机构": "Institution",
    "只读：此页面列出您有权查看的报名记录和人脸验证记录，用于核实疑似作弊线索。": (
        "Read-only: the enrolments and face checks you may see, to check a suspected fraud."
    ),
    "报名记录": "Enrolments",
    "没有可查看的报名记录。": "No enrolments you may see.",
    "报名时间": "enrolled",
    "分钟": "minutes",
    "通过 %s / %s 次": "%s of %s passed",
    "已通过": "passed",
    "完成时间": "Completed",
    "每日学时（每日上限 %s 分钟）": "Verified time per day (daily cap %s minutes)",
    "日期": "Day",
    "超过每日上限": "over the daily cap",
    "没有可查看的人脸验证记录。": "No face checks you may see.",
    "用途": "Purpose",
    "最小距离": "Best distance",
    "人脸截图": "Face crop",
    "每日学时": "Verified time per day",
    "← 返回看板": "← Back to the dashboard",
    "未找到证书编号为 %s 的证书。请核对编号。": (
        "No certificate has the serial number %s. Check the number."
    ),
    "✔ 证书有效：该证书由下列培训机构颁发，当前状态为有效。": (
        "✔ Valid: this certificate was issued by the institution below and is in force."
    ),
    "✘ 证书已撤销（撤销日期 %s；原因：%s）": "✘ Revoked (on %s; reason: %s)",
    "%s 小时（%s 分钟）": "%s h (%s min)",
    "公开核验页面": "Public verification page",
    "补贴评估": "Subsidy evaluation",
    "符合补贴条件：补贴金额 %s 元。": "Eligible for a subsidy of %s yuan.",
    "不符合补贴条件：下列标记为“未满足”的规则不允许补贴。": (
        "Not eligible: the rules marked “not met” below refuse the subsidy."
    ),
    "满足": "met",
    "未满足": "not met",
    "补贴评估仅向发证机构的工作人员和监管部门开放。": (
        "The subsidy evaluation is shown to the issuing institution's staff and to regulators."
    ),
    "报名": "Enrolled",
    "参训": "Trained",
    "取得证书（有效）": "Certified (valid)",
    "证书已撤销": "Certificates revoked",
    "符合补贴": "Subsidy eligible",
    "补贴金额（元）": "Subsidy (yuan)",
    (
        "比对全部已采集的人脸：两个不同账号的人脸特征过于接近（距离不高于阈值 %s），可能是同"
        "一人注册了多个账号，由一人替多人学习或签到。"
    ): (
        "All enrolled faces compared: two accounts whose faces are too close (distance at most "
        "%s) may be one person with several accounts, studying or checking in for others."
    ),
    (
        "同一张画面（按 SHA-256 判断完全相同）出现在不同学员的人脸验证中：画面被复制、转发或"
        "重放，而不是本人当场拍摄。"
    ): (
        "The very same frame (same SHA-256) appears in face checks of different learners: it "
        "was copied, forwarded or replayed, not taken live by the learner."
    ),
    (
        "%s 分钟内有 %s 名及以上学员从同一 IP 地址签到：可能是集中代签。同一机房或同一网络出"
        "口也会出现，需结合实际情况核实。"
    ): (
        "Within %s minutes, %s or more learners checked in from one IP address: possibly one "
        "person checking in for many. A shared classroom or network also does this: check."
    ),
    "某天记入的有效学时超过了课程规定的每日上限：正常学习不会出现，需核查该学员的学时记录。": (
        "More verified time on one day than the course's daily cap: impossible in normal "
        "study; check the learner's time records."
    ),
    "同一学员的两段学习时间相互重叠（例如同时学习两门课程）：一个人不能同时在两处学习。": (
        "Two study sessions of one learner overlap (e.g. two courses at once): nobody studies "
        "in two places at the same time."
    ),
    (
        "某课程或机构的随机点名失败与未应答比例异常（高于 %s，或达到全体平均水平的 %s 倍）："
        "可能有人挂机刷学时或由他人代学。"
    ): (
        "A course or institution fails or misses unusually many roll-calls (above %s, or %s "
        "times the overall rate): pages left running, or someone else studying."
    ),
    "两个账号的人脸距离为 %s，不高于阈值 %s。": (
        "The two accounts' faces are %s apart, within the threshold %s."
    ),
    "%s 名学员提交了完全相同的画面（SHA-256 %s…）。": (
        "%s learners sent the same frame (SHA-256 %s…)."
    ),
    "%s 名学员在 %s 至 %s 之间从 IP %s 签到。": (
        "%s learners checked in between %s and %s from IP %s."
    ),
    "%s 记入 %s 分钟，超过每日上限 %s 分钟。": "%s: %s minutes credited, over the daily cap of %s.",
    "两段学习时间重叠 %s 分钟。": "Two study sessions overlap by %s minutes.",
    "%s：随机点名 %s 次，失败 %s 次、未应答 %s 次（%s），全体平均 %s。": (
        "%s: %s roll-calls, %s failed and %s missed (%s); overall rate %s."
    ),
    "人脸特征（采集记录）": "Face template (enrolment)",
    "学习时段": "Study session",
    "待人工审核": "in review",
    "证书未撤销": "Certificate not revoked",
    "每人每年不超过 3 次": "At most 3 per learner per year",
    "同一职业同一等级不重复享受": "Never twice for the same occupation and level",
    "此页面供监管部门和培训机构工作人员使用。": (
        "This page is for regulators and institution staff."
    ),
    "日期格式应为 YYYY-MM-DD。": "Write dates as YYYY-MM-DD.",
    "请选择列表中的培训机构。": "Choose an institution from the list.",
    "机构": "Institution",
    "其他机构的记录（无权查看）": "A record of another institution (not yours to see)",
    "其他机构的学员": "a learner of another institution",
    "未登记": "not recorded",
    "画面": "Frame",
    "%s 至 %s": "%s to %s",
    "平台（机构之外的操作）": "Platform (actions outside any institution)",
    "各期报名、参训与取证人数": "Enrolled, trained and certified by period",
    "各期补贴金额（元）": "Subsidy by period (yuan)",
    "按人员类别": "By learner group",
    "按培训机构": "By institution",
    # ---- staff pages: courses, lessons, question bank, learners, certificates, claims (stream B)
    "补贴申报": "Subsidy claims",
    (
        "按季度导出本机构的补贴申领清单：每张符合补贴条件的证书一行，最后一行为合计。"
        "季度按证书颁发日期（北京时间）计算。"
    ): (
        "Export the institution's subsidy claims by quarter: one row per eligible certificate, "
        "then a totals row. The quarter is that of the date of issue (Beijing time)."
    ),
    "年份": "Year",
    "季度": "Quarter",
    "第 %d 季度": "Q%d",
    "%d 年第 %d 季度": "%d, quarter %d",
    "申领人次": "Claims",
    "补贴合计（元）": "Total (yuan)",
    "有效学时合计": "Verified hours in total",
    "下载 CSV": "Download CSV",
    "下载 Excel（XLSX）": "Download Excel (XLSX)",
    "序号": "No.",
    "职业": "Occupation",
    "金额（元）": "Amount (yuan)",
    "本季度没有符合补贴条件的证书。": "No certificate eligible for a subsidy in this quarter.",
    "课程管理": "Courses",
    "草稿": "Draft",
    "已发布": "Published",
    "学员与进度": "Learners and progress",
    "发布": "Publish",
    "课时 %d 个；题库 %d 题，每次考试抽 %d 题。": (
        "%d lessons; %d questions in the bank, %d drawn for each quiz."
    ),
    "暂不能发布，还需要：": "Cannot publish yet. Still needed:",
    "发布课程": "Publish the course",
    "发布后学员即可报名；课程设置、课时和题库将冻结，不能再修改。": (
        "Once published, learners can enrol; the settings, lessons and questions are frozen and "
        "can no longer be changed."
    ),
    "课程设置": "Course settings",
    "请按提示修改标红的内容后重新提交。": "Correct the fields marked in red, then submit again.",
    "保存设置": "Save settings",
    "本课程已发布：课时和题库是学员学习和考试的依据，已冻结，只能查看。": (
        "This course is published: learners were credited and examined on its lessons and "
        "questions, so they are frozen and shown read-only."
    ),
    "要求学时": "Required time",
    "合格分 %d；每次 %d 题，限时 %d 秒，最多 %d 次": (
        "pass mark %d; %d questions, %d seconds, at most %d attempts"
    ),
    "补贴标准": "Subsidy",
    "%s 元/人": "%s yuan per learner",
    "每 %d–%d 秒一次，%d 秒内应答，通过率不低于 %d%%": (
        "every %d–%d seconds, %d seconds to answer, pass rate at least %d%%"
    ),
    "学时规则": "Credit rule",
    "每日上限 %d 分钟，心跳间隔 %d 秒": "daily cap %d minutes, heartbeat every %d seconds",
    "发布时间": "Published",
    "还没有课时。": "No lessons yet.",
    "上移": "Move up",
    "下移": "Move down",
    "删除": "Remove",
    "修改此课时": "Edit this lesson",
    "保存课时": "Save lesson",
    "查看内容": "Show content",
    "添加课时": "Add a lesson",
    "题库": "Question bank",
    "每次考试从题库随机抽 %d 题，题库至少需要这么多题才能发布。": (
        "Each quiz draws %d questions at random; the bank needs at least that many to publish."
    ),
    "还没有试题。": "No questions yet.",
    "正确答案": "Right answer",
    "修改此题": "Edit this question",
    "保存试题": "Save question",
    "添加试题": "Add a question",
    "新建课程": "New course",
    "先保存为草稿；添加课时和试题后再发布。": (
        "It is saved as a draft first; publish it once it has lessons and questions."
    ),
    "保存草稿": "Save draft",
    "草稿可以修改课程设置、课时和题库；发布后学员即可报名，课时和题库随之冻结。": (
        "A draft's settings, lessons and questions can be changed; once published, learners can "
        "enrol and its lessons and questions are frozen."
    ),
    "还没有课程。点击“新建课程”开始。": "No courses yet. Start with New course.",
    "试题": "Questions",
    "编辑": "Edit",
    "报名于 %s": "enrolled %s",
    "已完成（%s）。": "Complete (%s).",
    "已满足全部结业条件。": "Every completion condition is met.",
    "颁发时间": "Issued",
    "撤销时间": "Revoked",
    "撤销原因": "Reason for revocation",
    "确定撤销证书 %s 吗？撤销后不可恢复，验证页面将显示撤销原因。": (
        "Revoke certificate %s? This cannot be undone; the verification page will show the reason."
    ),
    "撤销原因：": "Reason: ",
    "确认撤销": "Yes, revoke",
    "取消": "Cancel",
    "撤销证书": "Revoke the certificate",
    "撤销原因（必填，将在验证页面公开）": (
        "Reason (required; shown publicly on the verification page)"
    ),
    "学员已满足结业条件，可以颁发证书。": "The learner meets every condition: you can issue.",
    "学员完成全部结业条件后才能颁发证书。": (
        "A certificate can be issued once the learner meets every completion condition."
    ),
    "颁发证书": "Issue the certificate",
    "该学员在本机构的全部人脸验证（签到、随机点名、考试核验），最近的在前。": (
        "Every face check of this learner at this institution (check-ins, roll-calls, quiz "
        "checks), newest first."
    ),
    "人工审核": "Staff review",
    "要求学时 %d 分钟，考试 %d 分合格，点名通过率不低于 %d%%": (
        "%d minutes required, quiz pass mark %d, roll-call pass rate at least %d%%"
    ),
    "还没有学员报名本课程。": "No learner has enrolled in this course yet.",
    "没有更多学员了。": "No more learners.",
    "学员": "Learner",
    "身份证号": "ID number",
    "完成情况": "Completion",
    "%d / %d 次（%d%%）": "%d / %d (%d%%)",
    "第一页": "First page",
    "下一页": "Next page",
    "翻页": "Pages",
    "基本信息": "Basics",
    "课程名称": "Course title",
    "课程简介（选填）": "Description (optional)",
    "职业编码": "Occupation code",
    "例如 6-31-01-03": "e.g. 6-31-01-03",
    "职业（工种）名称": "Occupation name",
    "要求学时（分钟）": "Required time (minutes)",
    "考试合格分（0–100）": "Quiz pass mark (0–100)",
    "补贴标准（元/人）": "Subsidy (yuan per learner)",
    "按当地补贴标准填写，例如 1500.00": "The local subsidy standard, e.g. 1500.00",
    "随机点名与学时": "Roll-calls and time credit",
    "点名最短间隔（秒）": "Shortest roll-call interval (seconds)",
    "点名最长间隔（秒）": "Longest roll-call interval (seconds)",
    "点名应答时限（秒）": "Time to answer a roll-call (seconds)",
    "点名最低通过率（%）": "Lowest roll-call pass rate (%)",
    "每日学时上限（分钟）": "Daily cap (minutes)",
    "心跳间隔（秒）": "Heartbeat interval (seconds)",
    "点名未通过时的学时处理": "Credit when a roll-call fails",
    "每次考试题数": "Questions per quiz",
    "考试时限（秒）": "Quiz time limit (seconds)",
    "考试次数上限": "Most quiz attempts",
    "课时名称": "Lesson title",
    "时长（分钟）": "Length (minutes)",
    "内容（文字课时填写正文，视频课时填写视频网址）": (
        "Content (the text of a text lesson, the address of a video)"
    ),
    "题型": "Kind",
    "题干": "Question",
    "选项（勾选正确答案）": "Options (tick the right answers)",
    "空行不计入选项。判断题可不填选项：默认第 1 行为“正确”、第 2 行为“错误”，勾选正确的一行。": (
        "Blank rows are left out. A true/false question may leave the options blank: row 1 is "
        "then True and row 2 False; tick the right one."
    ),
    "正确": "Right",
    "选项 %d": "Option %d",
    "课程草稿已创建。请添加课时和试题，然后发布。": (
        "Draft course created. Add lessons and questions, then publish it."
    ),
    "课程设置已保存。": "Course settings saved.",
    "课程已发布，学员现在可以报名。课时和题库自此冻结。": (
        "Course published: learners can enrol now. Its lessons and questions are frozen."
    ),
    "课时已添加。": "Lesson added.",
    "课时已保存。": "Lesson saved.",
    "课时顺序已调整。": "Lesson order changed.",
    "课时已删除。": "Lesson removed.",
    "试题已添加。": "Question added.",
    "试题已保存。": "Question saved.",
    "试题已删除。": "Question removed.",
    "培训合格证明已颁发。": "Certificate issued.",
    "证书已撤销，验证页面将显示撤销原因。": (
        "Certificate revoked; the verification page shows the reason."
    ),
    "必填，不超过 %s 字。": "Required, at most %s characters.",
    "选填，不超过 %s 字。": "Optional, at most %s characters.",
    "必填，不超过 %s 个字符，例如 6-31-01-03。": (
        "Required, at most %s characters, e.g. 6-31-01-03."
    ),
    "请从列表中选择等级。": "Choose a level from the list.",
    "应为 %s–%s 之间的整数。": "A whole number from %s to %s.",
    "应为 0–%s 元之间的金额，最多两位小数。": (
        "An amount from 0 to %s yuan, with at most two decimals."
    ),
    "应为 %s–%s 之间的整数，且不大于最长间隔。": (
        "A whole number from %s to %s, not above the longest interval."
    ),
    "应为 %s–%s 之间的整数，且不小于最短间隔。": (
        "A whole number from %s to %s, not below the shortest interval."
    ),
    "请选择“严格”或“宽松”。": "Choose strict or lenient.",
    "请选择“文字”或“视频”。": "Choose text or video.",
    "必填，不超过 %s 字；视频课时请填写以 http:// 或 https:// 开头、不含空格的网址。": (
        "Required, at most %s characters; a video lesson needs an address starting with "
        "http:// or https://, without spaces."
    ),
    "位置超出范围。": "That position is out of range.",
    "请选择题型：单选、多选或判断。": (
        "Choose the kind: single choice, multiple choice or true/false."
    ),
    (
        "需要 %s–%s 个互不相同的选项，每个不超过 %s 字；判断题只有两个选项"
        "（可不填，默认为“正确”“错误”）。"
    ): (
        "%s to %s different options of at most %s characters each; a true/false question has "
        "exactly two (leave them blank for True and False)."
    ),
    "请勾选正确答案：单选题和判断题勾选一个，多选题至少勾选一个；勾选的行必须填写了选项。": (
        "Tick the right answer: exactly one for single choice and true/false, at least one for "
        "multiple choice; a ticked row must have its option filled in."
    ),
    "请输入整数。": "Enter a whole number.",
    "证书编号：": "Serial: ",
    "单选题": "Single choice",
    "多选题": "Multiple choice",
    "判断题": "True/false",
    "文字": "Text",
    "视频": "Video",
    "严格：点名未通过或超时，上次验证以来的学时不计": (
        "Strict: a failed or missed roll-call forfeits the time since the last passed check"
    ),
    "宽松：点名未通过或超时，保留到最后一次心跳的学时": (
        "Lenient: a failed or missed roll-call keeps the time up to the last heartbeat"
    ),
}
